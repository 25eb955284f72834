"""The command line of scripts/ipcreport: `report` (charts, summary.md, index.html),
`compare` (the regression gate), `calibrate` (this runner's noise), `floors` (ratios to the
physical floors over several runs), `export` (dashboards),
`history` (the results history in SQLite) and `trend` (its charts; cli_history.py).
Bad input, including an output that cannot be written, is one line on stderr and exit
status 2, never a traceback (a verdict of 1 must mean a regression).
"""
from __future__ import annotations

import argparse
import os
import sys

from reports import __version__, cli_history, commands, commands_history, load
from reports.commands import EXIT_BAD_INPUT


def _fraction(text: str) -> float:
    """'5%' or '0.05' -> 0.05."""
    try:
        v = float(text[:-1]) / 100 if text.endswith('%') else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a number: {text}') from None
    if not 0 <= v < 10:
        raise argparse.ArgumentTypeError(f'out of range: {text}')
    return v


def _alpha(text: str) -> float:
    v = _fraction(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f'alpha must be between 0 and 1: {text}')
    return v


def _size(text: str) -> int:
    """'64', '4K', '1M' (powers of 1024) -> bytes, as ipcbench's --size."""
    mult = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}.get(text[-1:].upper(), 1)
    digits = text[:-1] if mult > 1 else text
    if not digits.isdigit() or int(digits) == 0:
        raise argparse.ArgumentTypeError(f'not a size: {text}')
    return int(digits) * mult


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with where to find help) and exit 2."""

    def error(self, message):
        print(f'{self.prog}: {message} (see {self.prog} --help)', file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _dpi(text: str) -> int:
    if not text.isdigit() or not 50 <= int(text) <= 1200:
        raise argparse.ArgumentTypeError(f'dpi must be a whole number from 50 to 1200: {text}')
    return int(text)


def _rounds(text: str) -> int:
    if not text.isdigit() or not 2 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f'rounds must be 2 or more: {text}')
    return int(text)


def _gate_options(c) -> None:
    c.add_argument('--metric', default='median',
                   help='median (default: pingpong p50 one-way latency, others time per '
                   'message), mean (Google Benchmark\'s Time: the mean), real_time, cpu_time '
                   'or a counter, e.g. latency_p99_ns')
    c.add_argument('--threshold', type=_fraction, default=0.05,
                   help='smallest relative change that counts, e.g. 0.05 or 5%% (default 5%%)')
    c.add_argument('--tail-threshold', type=_fraction, default=0.25,
                   help='the threshold of tail metrics (p99, p99.9, max; default 25%%)')
    c.add_argument('--alpha', type=_alpha, default=0.05,
                   help='significance level, before the correction (default 0.05)')
    c.add_argument('--power', type=_alpha, default=0.8,
                   help='power at which the detectable change is stated (default 0.8)')


def parser() -> argparse.ArgumentParser:
    p = Parser(prog='ipcreport', description=__doc__.splitlines()[0])
    p.add_argument('--version', action='version', version=f'ipcreport (ipcbench {__version__})')
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('report', help='charts (PNG, SVG), summary.md, index.html',
                       description='With one DIR, or several without --out, each DIR gets its '
                       'own report. With --out, one report puts all DIRs on the same charts.')
    r.add_argument('dirs', nargs='+', metavar='DIR', help='result folder (or bench.json)')
    r.add_argument('--out', help='write one combined report here instead')
    r.add_argument('--label', action='append', default=[],
                   help='label of each DIR in order (default: folder names)')
    r.add_argument('--size', type=_size, help='size for the CDF, heatmap, CPU and placement '
                   'charts (default: the smallest)')
    r.add_argument('--dpi', type=_dpi, default=200,
                   help='resolution of the PNGs (default 200: about 1300 px wide, sharp when '
                   'pasted into a document; the SVGs do not depend on it)')
    r.add_argument('--metric', choices=('median', 'mean'), default='median',
                   help='median (default): p50 latency, median over repetitions; mean: mean '
                   'latency (the histograms\' mean, or half the mean round trip), mean over '
                   'repetitions')
    r.add_argument('--conformance', default='', metavar='FILE',
                   help='conformance.json of `ipcbench conform --out DIR` to summarise '
                   '(default: the one in the result folder, if any)')
    c = sub.add_parser('compare', help='regression verdict of NEW against BASE',
                       description='Exit status: 0 no regression, 1 regression (or a benchmark '
                       'failing only in NEW), 2 bad input. BASE and NEW are bench.json files or '
                       'folders: DIR/bench.json (one round) or DIR/*/bench.json (rounds; '
                       'interleaved when both sides have the same round names).')
    c.add_argument('base', metavar='BASE')
    c.add_argument('new', metavar='NEW')
    _gate_options(c)
    c.add_argument('--correction', choices=('holm', 'none'), default='holm',
                   help='adjust p for the number of benchmarks (holm, default) or not (none)')
    c.add_argument('--calibration', default=os.environ.get('IPCBENCH_CALIBRATION', ''),
                   help='noise calibration of this runner (ipcreport calibrate; default '
                   '$IPCBENCH_CALIBRATION)')
    c.add_argument('--allow-env-mismatch', nargs='?', const='all', default='',
                   metavar='FIELDS', help='compare runs whose environment fingerprints differ '
                   '(in any field, or only in these comma-separated ones); warned')
    c.add_argument('--output', help='also write the Markdown table to this file')
    c.add_argument('--base-label', default='', help='name of BASE in the table')
    c.add_argument('--new-label', default='', help='name of NEW in the table')
    _tool_parsers(sub)
    cli_history.add_parsers(sub, _fraction, _alpha, _dpi)
    return p


def _tool_parsers(sub) -> None:
    """calibrate, floors and export."""
    k = sub.add_parser('calibrate', help="this runner's noise from A/A rounds",
                       description='A and B: folders of the same rounds (round-1 ... round-N) '
                       'of one binary, run alternately. Writes, per benchmark and metric, the '
                       'spread between rounds and the detectable change at --rounds.')
    k.add_argument('a', metavar='A')
    k.add_argument('b', metavar='B')
    k.add_argument('--output', required=True, help='the calibration file to write')
    k.add_argument('--rounds', type=_rounds, default=12,
                   help='rounds per side the gate will run (default 12)')
    _gate_options(k)
    f = sub.add_parser('floors', help='ratios to the physical floors over several runs',
                       description='RUN: a result folder of `ipcbench run --suite floors` (or '
                       'any run with the floors measured), or a folder of such rounds. Per '
                       'benchmark: the median of its settled ratio_to_floor, min-max and how '
                       'many were settled; then what each run listed as below its floor.')
    f.add_argument('runs', nargs='+', metavar='RUN')
    f.add_argument('--output', help='also write the Markdown table to this file')
    e = sub.add_parser('export', help='results for dashboards (Bencher, github-action-benchmark)')
    e.add_argument('dir', metavar='DIR', help='result folder, or a folder of rounds')
    e.add_argument('--format', choices=('bmf', 'gab'), required=True,
                   help='bmf: Bencher Metric Format; gab: github-action-benchmark custom JSON')
    e.add_argument('--direction', choices=('smaller', 'bigger'), default='smaller',
                   help='gab: customSmallerIsBetter (latency, CPU) or customBiggerIsBetter '
                   '(throughput)')
    e.add_argument('--output', required=True, help='the file to write')


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    cli_history.finish(args)
    run = {'report': commands.run_report, 'compare': commands.run_compare,
           'calibrate': commands.run_calibrate, 'export': commands.run_export,
           'floors': commands.run_floors,
           'history': commands_history.run_history,
           'trend': commands_history.run_trend}[args.command]
    try:
        return run(args)
    except load.BadInput as err:
        print(f'ipcreport {args.command}: {err}', file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # noqa: BLE001 -- last resort: a bug must not look like a verdict
        if os.environ.get('IPCREPORT_DEBUG'):
            raise
        print(f'ipcreport {args.command}: internal error ({type(err).__name__}: {err}); '
              'please report it with the input files (IPCREPORT_DEBUG=1 shows where)',
              file=sys.stderr)
        return EXIT_BAD_INPUT
