"""The command lines of `ipcreport history` (add, list, export; what `ipcbench history` runs)
and `ipcreport trend`. The database is --db, else $IPCBENCH_HISTORY, else history.sqlite in
$IPCBENCH_RESULTS_DIR or results/ (where scripts/bench puts its runs)."""
from __future__ import annotations

import argparse
import os

from reports import history_gate

DB_HELP = ('the history database (default: $IPCBENCH_HISTORY, else history.sqlite in '
           '$IPCBENCH_RESULTS_DIR, else results/history.sqlite)')


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f'not a positive whole number: {text}')
    return int(text)


def _window(text: str) -> int:
    v = _positive(text)
    if v < 2:
        raise argparse.ArgumentTypeError(f'the window needs 2 runs or more: {text}')
    return v


def add_parsers(sub, fraction, alpha, dpi) -> None:
    """Adds `history` and `trend` to ipcreport's subcommands (the helpers parse 5%, alpha
    and dpi as the other subcommands do)."""
    h = sub.add_parser('history', help='the results history: add runs, list them, export to '
                       'Bencher (SQLite, one file)',
                       description='Runs kept in one SQLite file, keyed by their comparability '
                       'key, commit and time. `ipcbench history ...` runs this command.')
    acts = h.add_subparsers(dest='action', required=True)
    a = acts.add_parser('add', help='store result folders (a run, or a folder of rounds); the '
                        'gate judges each against the runs before it',
                        description='Each DIR becomes one run (a folder of rounds: one run of '
                        'several rounds). The same bench.json files are kept once. Each new run '
                        'is judged by the regression gate against the --window runs before it '
                        'of the same environment, and the verdicts are stored (ipcreport trend '
                        'marks them). Exit 0 also when the gate flags a regression.')
    a.add_argument('dirs', nargs='+', metavar='RESULT_DIR')
    a.add_argument('--db', help=DB_HELP)
    a.add_argument('--commit', default='', help='the commit the run was built from (default: '
                   'context.ipcbench_commit of its bench.json)')
    a.add_argument('--metric', action='append', default=None,
                   help='metric the gate judges (repeatable; default: median and '
                   'latency_p99_ns)')
    a.add_argument('--window', type=_window, default=history_gate.DEFAULT_WINDOW,
                   help='earlier runs each run is judged against (default 10)')
    a.add_argument('--threshold', type=fraction, default=0.05,
                   help='smallest relative change that counts (default 5%%)')
    a.add_argument('--tail-threshold', type=fraction, default=0.25,
                   help='the threshold of tail metrics (p99, p99.9, max; default 25%%)')
    a.add_argument('--alpha', type=alpha, default=0.05, help='significance level before Holm '
                   '(default 0.05)')
    a.add_argument('--calibration', default=os.environ.get('IPCBENCH_CALIBRATION', ''),
                   help='noise calibration of this runner (used for its own environment only)')
    lst = acts.add_parser('list', help='the stored runs, per environment')
    lst.add_argument('--db', help=DB_HELP)
    lst.add_argument('--key', default='', help='only this environment (a unique prefix)')
    lst.add_argument('--json', action='store_true', help='one JSON list')
    e = acts.add_parser('export', help='a run as Bencher Metric Format, to a file or pushed to '
                        'a Bencher server',
                        description='--output FILE writes the BMF of one run (--run, default '
                        'the newest): the document `ipcreport export DIR --format bmf` makes. '
                        '--push sends runs to a Bencher server as reports (POST '
                        '/v0/projects/PROJECT/reports; token from $BENCHER_API_TOKEN): --run '
                        'IDs, or --all the runs not yet pushed to that server, project, branch '
                        'and testbed, else the newest. --request-out FILE writes the requests '
                        '(token hidden) instead of sending them.')
    e.add_argument('--format', choices=('bmf',), required=True,
                   help='bmf: Bencher Metric Format')
    e.add_argument('--db', help=DB_HELP)
    e.add_argument('--run', type=_positive, action='append', help='run id (history list)')
    e.add_argument('--output', help='write the BMF document of one run here')
    e.add_argument('--push', action='store_true', help='send to a Bencher server')
    e.add_argument('--all', action='store_true', help='--push every run not yet pushed there')
    e.add_argument('--key', default='', help='with --all: only this environment')
    e.add_argument('--host', default='', help='the Bencher API (default $BENCHER_HOST, else '
                   'https://api.bencher.dev)')
    e.add_argument('--project', default='', help='project slug or UUID (default '
                   '$BENCHER_PROJECT)')
    e.add_argument('--branch', default='', help='branch (default $BENCHER_BRANCH, else main)')
    e.add_argument('--testbed', default='', help='testbed (default $BENCHER_TESTBED, else '
                   'HOST-KEY: one testbed per environment)')
    e.add_argument('--request-out', default='', metavar='FILE',
                   help='write the requests here as JSON lines and send nothing')
    t = sub.add_parser('trend', help='per benchmark, the history with its noise band and the '
                       "gate's regressions (charts and trend.md)",
                       description='Draws the runs of one environment (--key, default the '
                       'newest run\'s) in time order, one panel per benchmark, each run with '
                       'the 95%% prediction interval of the --window runs before it, and rings '
                       'the runs the gate flagged when they were added.')
    t.add_argument('--db', help=DB_HELP)
    t.add_argument('--key', default='', help='environment (a unique prefix of its key)')
    t.add_argument('--metric', default='median', help='median (default), mean, real_time or a '
                   'counter such as latency_p99_ns, bytes_per_second, cpu_ns_per_msg')
    t.add_argument('--benchmark', default='', metavar='REGEX',
                   help='only benchmarks whose name matches')
    t.add_argument('--window', type=_window, default=history_gate.DEFAULT_WINDOW,
                   help='earlier runs a band is computed from (default 10)')
    t.add_argument('--last', type=_positive, default=0, help='draw only the last N runs')
    t.add_argument('--calibration', default=os.environ.get('IPCBENCH_CALIBRATION', ''),
                   help='noise calibration of this environment: bands from its spread')
    t.add_argument('--out', default='', help='folder for the charts and trend.md (default: '
                   'trend/ beside the database)')
    t.add_argument('--dpi', type=dpi, default=200, help='resolution of the PNGs')


def finish(args) -> None:
    """Defaults argparse cannot express (an appended list's default)."""
    if getattr(args, 'command', '') == 'history' and args.action == 'add' and not args.metric:
        args.metric = list(history_gate.DEFAULT_METRICS)
