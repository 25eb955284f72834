"""`ipcreport floors RUN...`: results read against this machine's physical floors over
several runs (`ipcbench run --suite floors`, three times or more). Per benchmark: the median of
its settled `ratio_to_floor` with min-max and how many runs were settled; for an in-place
stream, its ratio to the copy path's ceiling too; then what each run listed as below its floor.
A ratio the run marked unsettled (`floor_unsettled`: the floor moved while the result was
measured, the host ran it faster than both floors next to it, or a stream's pace was not
steady) or listed as below its floor (impossible: a measuring error, or the machine changed
speed) is counted, not used.
"""
from __future__ import annotations

import math
import statistics

from reports import load


def runs_of(sets: list) -> list:
    """One ResultSet per run: a folder of rounds counts each round as a run."""
    return [part for s in sets for part in (s.parts or [s])]


def _ratio(values: dict, name: str):
    v = values.get(name)
    return v if v is not None and math.isfinite(v) and v > 0 else None


def _below(run) -> list:
    """The lines the run listed as below their floor, each starting with the benchmark's name."""
    lines = run.context.get('ipcbench_below_floor', [])
    return [line for line in lines if isinstance(line, str)] if isinstance(lines, list) else []


def _display_name(name: str) -> str:
    """The name as ipcbench printed it, without Google Benchmark's suffix."""
    for suffix in load.GB_SUFFIXES:
        name = name.removesuffix('/' + suffix)
    return name


def collect(runs: list) -> dict:
    """Key -> {'name', 'floor': [(ratio, settled)], 'copy': [(ratio, settled)]}, in the order the
    benchmarks first appear. Raises BadInput when no result has a ratio_to_floor."""
    rows = {}
    for run in runs:
        below = {line.split(':', 1)[0] for line in _below(run)}
        for e in run.iterations():
            ratio = _ratio(e.values, 'ratio_to_floor')
            if ratio is None:
                continue
            name = _display_name(e.name)
            settled = e.values.get('floor_unsettled', 0) != 1 and name not in below
            row = rows.setdefault(e.key, {'name': name, 'floor': [], 'copy': []})
            row['floor'].append((ratio, settled))
            copy = _ratio(e.values, 'ratio_to_copy_ceiling')
            if copy is not None:
                row['copy'].append((copy, settled))
    if not rows:
        raise load.BadInput('no result has a ratio_to_floor: run with the floors measured '
                            '(ipcbench run --suite floors, or --floors each)')
    return rows


def _cell(samples: list) -> tuple:
    """(median, min-max, settled/all) of the settled samples."""
    kept = [r for r, settled in samples if settled]
    count = f'{len(kept)}/{len(samples)}'
    if not kept:
        return '-', '-', count
    return (f'{statistics.median(kept):.2f}', f'{min(kept):.2f}-{max(kept):.2f}', count)


def table(runs: list) -> str:
    """The Markdown report of `runs` (see the module's docstring)."""
    rows = collect(runs)
    out = [f'Ratios to the physical floors over {len(runs)} run(s): per benchmark the median '
           'of its settled ratios, their range, and how many of its results were settled (not '
           'marked unsettled, not listed below their floor). '
           'A latency reads p50 / floor (lower is better), a stream throughput / ceiling '
           '(higher is better).', '',
           '| benchmark | ratio to floor | min-max | settled | in place: to the copy ceiling '
           '| min-max |',
           '| --- | --- | --- | --- | --- | --- |']
    for row in rows.values():
        med, span, count = _cell(row['floor'])
        copy_med, copy_span, _ = _cell(row['copy']) if row['copy'] else ('', '', '')
        out.append(f'| {row["name"]} | {med} | {span} | {count} | {copy_med} | {copy_span} |')
    below = [(run.label, line) for run in runs for line in _below(run)]
    out += ['', f'Below their floor (impossible: a measuring error, or the machine changed speed): '
            f'{len(below)} result(s).']
    out += [f'- {label}: {line}' for label, line in below]
    return '\n'.join(out) + '\n'
