"""The command line of scripts/ipcreport: `report` (charts, summary.md, index.html) and
`compare` (the regression gate). Bad input is one line on stderr and exit status 2.
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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='ipcreport', description=__doc__.splitlines()[0])
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


def run_report(args) -> int:
    from reports import charts, summary  # matplotlib only where it is needed
    labels = load.unique_labels(args.dirs, args.label)
    sets = [load.load(d, lab) for d, lab in zip(args.dirs, labels)]
    groups = [(args.out, sets)] if args.out else [
        (d if os.path.isdir(d) else os.path.dirname(os.path.abspath(d)), [s])
        for d, s in zip(args.dirs, sets)]
    for out_dir, group in groups:
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as err:
            raise load.BadInput(f'{out_dir}: cannot create ({err.strerror})') from None
        if not os.access(out_dir, os.W_OK):
            raise load.BadInput(f'{out_dir}: not writable')
        charts.remove_old(out_dir)
        made = charts.draw_all(group, out_dir, args.size)
        for name, text in (('summary.md', summary.markdown(group, made)),
                           ('index.html', summary.html_page(group, made, out_dir))):
            with open(os.path.join(out_dir, name), 'w', encoding='utf-8') as f:
                f.write(text)
        files = [f for _, fs in made for f in fs if f.endswith('.svg')]
        print(f'ipcreport: wrote {out_dir}/summary.md, index.html and {len(files)} charts '
              f'(PNG + SVG): {", ".join(f[:-4] for f in files)}')
    return EXIT_OK


def run_compare(args) -> int:
    base = load.load(args.base, args.base_label)
    new = load.load(args.new, args.new_label)
    opts = dict(metric=args.metric, alpha=args.alpha, threshold=args.threshold,
                correction=args.correction)
    outcome = cmp.compare(base, new, **opts)
    text = cmp.markdown(outcome, base, new, **opts)
    for w in outcome.warnings:
        print(f'ipcreport: warning: {w}', file=sys.stderr)
    sys.stdout.write(text)
    if args.output:
        with open(args.output, 'w', encoding='utf-8') as f:
            f.write(text)
    return EXIT_REGRESSION if outcome.failed else EXIT_OK


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return run_report(args) if args.command == 'report' else run_compare(args)
    except load.BadInput as err:
        print(f'ipcreport {args.command}: {err}', file=sys.stderr)
        return EXIT_BAD_INPUT
