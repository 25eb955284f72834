"""The command line of scripts/ipcreport: `report` (charts, summary.md, index.html) and
`compare` (the regression gate). Bad input, including an output that cannot be written, is one
line on stderr and exit status 2, never a traceback (a verdict of 1 must mean a regression).
"""
from __future__ import annotations

import argparse
import os
import sys

from reports import compare as cmp
from reports import load

EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2


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


def parser() -> argparse.ArgumentParser:
    p = Parser(prog='ipcreport', description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('report', help='charts (PNG, SVG), summary.md, index.html',
                       description='With one DIR, or several without --out, each DIR gets its '
                       'own report. With --out, one report puts all DIRs on the same charts.')
    r.add_argument('dirs', nargs='+', metavar='DIR', help='result folder (or bench.json)')
    r.add_argument('--out', help='write one combined report here instead')
    r.add_argument('--label', action='append', default=[],
                   help='label of each DIR in order (default: folder names)')
    r.add_argument('--size', type=_size, help='size for the CDF and heatmap (default: smallest)')
    c = sub.add_parser('compare', help='regression verdict of NEW against BASE',
                       description='Exit status: 0 no regression, 1 regression (or a benchmark '
                       'failing only in NEW), 2 bad input. BASE and NEW are bench.json files or '
                       'folders (DIR/bench.json, or DIR/*/bench.json pooled: interleaved rounds).')
    c.add_argument('base', metavar='BASE')
    c.add_argument('new', metavar='NEW')
    c.add_argument('--metric', default='real_time',
                   help='real_time (default), cpu_time or a counter, e.g. latency_p99_ns')
    c.add_argument('--threshold', type=_fraction, default=0.05,
                   help='smallest relative change that counts, e.g. 0.05 or 5%% (default 5%%)')
    c.add_argument('--alpha', type=_alpha, default=0.05,
                   help='significance level of the Mann-Whitney U test (default 0.05)')
    c.add_argument('--correction', choices=('holm', 'none'), default='holm',
                   help='adjust p for the number of benchmarks (holm, default) or not (none)')
    c.add_argument('--output', help='also write the Markdown table to this file')
    c.add_argument('--base-label', default='', help='name of BASE in the table')
    c.add_argument('--new-label', default='', help='name of NEW in the table')
    return p


def write_file(path: str, text: str) -> None:
    """Writes text to path; an OSError (also one raised when closing, e.g. a full disk)
    becomes BadInput naming the path and errno's text."""
    try:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
    except OSError as err:
        raise load.BadInput(f'{path}: cannot write ({err.strerror})') from None


def write_stdout(text: str) -> None:
    """Prints text; a closed pipe or full disk on stdout is BadInput, and stdout is pointed
    at /dev/null so that the interpreter's own flush at exit cannot print a second error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as err:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise load.BadInput(f'standard output: cannot write ({err.strerror})') from None


def _prepare_dir(out_dir: str) -> None:
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise load.BadInput(f'{out_dir}: exists and is not a folder')
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as err:
        raise load.BadInput(f'{out_dir}: cannot create ({err.strerror})') from None
    if not os.access(out_dir, os.W_OK):
        raise load.BadInput(f'{out_dir}: not writable')


def run_report(args) -> int:
    labels = load.unique_labels(args.dirs, args.label)
    sets = [load.load(d, lab) for d, lab in zip(args.dirs, labels)]
    from reports import charts, summary  # matplotlib only where it is needed, after the input
    groups = [(args.out, sets)] if args.out else [
        (d if os.path.isdir(d) else os.path.dirname(os.path.abspath(d)), [s])
        for d, s in zip(args.dirs, sets)]
    for out_dir, group in groups:
        _prepare_dir(out_dir)
        try:
            charts.remove_old(out_dir)
            made = charts.draw_all(group, out_dir, args.size)
        except OSError as err:
            raise load.BadInput(f'{err.filename or out_dir}: cannot write charts '
                                f'({err.strerror})') from None
        write_file(os.path.join(out_dir, 'summary.md'), summary.markdown(group, made))
        write_file(os.path.join(out_dir, 'index.html'), summary.html_page(group, made, out_dir))
        files = [f for _, fs in made for f in fs if f.endswith('.svg')]
        write_stdout(f'ipcreport: wrote {out_dir}/summary.md, index.html and {len(files)} '
                     f'charts (PNG + SVG): {", ".join(f[:-4] for f in files)}\n')
    return EXIT_OK


def run_compare(args) -> int:
    base = load.load(args.base, args.base_label)
    new = load.load(args.new, args.new_label)
    opts = dict(metric=args.metric, alpha=args.alpha, threshold=args.threshold,
                correction=args.correction)
    outcome = cmp.compare(base, new, **opts)
    text = cmp.markdown(outcome, base, new, **opts)
    if args.output:                 # first: a table on stdout must not hide a failed write
        write_file(args.output, text)
    for w in outcome.warnings:
        print(f'ipcreport: warning: {w}', file=sys.stderr)
    write_stdout(text)
    return EXIT_REGRESSION if outcome.failed else EXIT_OK


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return run_report(args) if args.command == 'report' else run_compare(args)
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
