"""What each ipcreport subcommand does, given its parsed arguments: read the input (load.py),
compute, write. Outputs that cannot be written are BadInput, like unreadable input."""
from __future__ import annotations

import json
import os
import sys

from reports import calibration, compare as cmp, export, floors, gate, load, table

EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2


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
    from reports import charts, context_info, histograms, summary  # matplotlib after the input
    for rs in sets:
        histograms.attach(rs)
    conformance = context_info.find_conformance(args.conformance, sets)
    groups = [(args.out, sets)] if args.out else [
        (d if os.path.isdir(d) else os.path.dirname(os.path.abspath(d)), [s])
        for d, s in zip(args.dirs, sets)]
    for out_dir, group in groups:
        _prepare_dir(out_dir)
        try:
            charts.remove_old(out_dir)
            made = charts.draw_all(group, out_dir, args.size, args.dpi, args.metric)
        except OSError as err:
            raise load.BadInput(f'{err.filename or out_dir}: cannot write charts '
                                f'({err.strerror})') from None
        notes = charts.notes(group)
        write_file(os.path.join(out_dir, 'summary.md'),
                   summary.markdown(group, made, notes, conformance, args.metric))
        write_file(os.path.join(out_dir, 'index.html'),
                   summary.html_page(group, made, out_dir, notes, conformance, args.metric))
        write_stdout(f'ipcreport: wrote {out_dir}/summary.md, index.html and {len(made)} '
                     f'charts (PNG at {args.dpi} dpi + SVG): '
                     f'{", ".join(c.stem for c in made)}\n'
                     + ''.join(f'ipcreport: note: {n}\n' for n in notes))
    return EXIT_OK


def _options(args) -> gate.Options:
    return gate.Options(metric=args.metric, alpha=args.alpha, threshold=args.threshold,
                        tail_threshold=args.tail_threshold, power=args.power,
                        correction=getattr(args, 'correction', 'holm'))


def run_compare(args) -> int:
    base = load.load(args.base, args.base_label)
    new = load.load(args.new, args.new_label)
    opts = _options(args)
    opts.calibration = calibration.load(args.calibration) if args.calibration else None
    outcome = cmp.compare(base, new, opts, allow_mismatch=args.allow_env_mismatch)
    text = table.markdown(outcome, base, new, opts)
    if args.output:                 # first: a table on stdout must not hide a failed write
        write_file(args.output, text)
    for w in outcome.warnings:
        print(f'ipcreport: warning: {w}', file=sys.stderr)
    write_stdout(text)
    return EXIT_REGRESSION if outcome.failed else EXIT_OK


def run_calibrate(args) -> int:
    a, b = load.load(args.a), load.load(args.b)
    opts = _options(args)
    doc = calibration.calibrate(a, b, rounds_n=args.rounds, alpha=opts.alpha, power=opts.power)
    calibration.save(doc, args.output)
    write_stdout(calibration.table(doc) + f'\nwrote {args.output}\n')
    return EXIT_OK


def run_export(args) -> int:
    rs = load.load(args.dir)
    doc = export.bmf(rs) if args.format == 'bmf' else export.gab(
        rs, smaller_is_better=args.direction == 'smaller')
    write_file(args.output, json.dumps(doc, indent=1, sort_keys=True) + '\n')
    write_stdout(f'ipcreport: wrote {args.output} ({len(doc)} '
                 f'{"benchmarks" if args.format == "bmf" else "entries"})\n')
    return EXIT_OK


def run_floors(args) -> int:
    runs = floors.runs_of([load.load(path) for path in args.runs])
    text = floors.table(runs)
    if args.output:
        write_file(args.output, text)
    write_stdout(text)
    return EXIT_OK
