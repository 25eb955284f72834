"""`compare BASE NEW`: matches benchmarks by name, judges each on its repetitions (see stats.py)
and formats a Markdown table for a pull-request comment. Exit codes: 0 no regression,
1 at least one regression (or a benchmark that fails only in NEW), 2 bad input.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from reports import fmt, stats
from reports.load import BadInput, ResultSet

# Context fields that make two runs incomparable or suspicious when they differ.
ENV_KEYS = ('cpu_model', 'num_cpus', 'kernel', 'build_type', 'library_build_type',
            'placements', 'cpus_allowed', 'cpu_governor', 'clocksource')
# Run settings (ipcbench_config) worth a note when they differ.
CONFIG_KEYS = ('min_time_s', 'repetitions', 'verify', 'fan', 'sleep_us', 'spin_us', 'stall_ms',
               'mmap_dir', 'cpus')


@dataclass
class Row:
    """One benchmark in the comparison; `judgement` is None when it could not be judged."""
    name: str
    judgement: stats.Judgement | None = None
    verdict: str = ''
    note: str = ''


@dataclass
class Outcome:
    rows: list
    only_base: list
    only_new: list
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def failed(self) -> list:
        return [r for r in self.rows if r.verdict in (stats.REGRESSION, 'failed in new')]


def higher_is_better(metric: str) -> bool:
    """Rates are better when higher; times, latencies, CPU and context switches when lower."""
    return metric.endswith('_per_second')


def collect(rs: ResultSet, metric: str) -> tuple:
    """(values, errors, names): per Key, the metric of every clean repetition; per Key, the
    number of failed entries; per Key, the display name (run_name without /manual_time)."""
    values, errors, names = {}, {}, {}
    for e in rs.entries:
        if e.run_type != 'iteration':
            continue
        names.setdefault(e.key, e.name.removesuffix('/manual_time'))
        if e.error:
            errors[e.key] = errors.get(e.key, 0) + 1
            continue
        v = e.values.get(metric)
        if v is not None and math.isfinite(v):
            values.setdefault(e.key, []).append(v)
    return values, errors, names


def env_differences(base: ResultSet, new: ResultSet) -> tuple:
    """(warnings, notes): environment fields and run settings that differ between the sides,
    and differences between the rounds merged into one side."""
    def show(v):
        return json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else str(v)
    warnings, notes = [], []
    for k in ENV_KEYS:
        a, b = base.context.get(k), new.context.get(k)
        if a != b:
            warnings.append(f'environment differs: {k} {show(a)} (base) vs {show(b)} (new)')
    ca, cb = base.context.get('ipcbench_config') or {}, new.context.get('ipcbench_config') or {}
    for k in CONFIG_KEYS:
        if ca.get(k) != cb.get(k):
            notes.append(f'setting differs: {k} {show(ca.get(k))} (base) vs {show(cb.get(k))} (new)')
    for side, rs in (('base', base), ('new', new)):
        for part in rs.parts[1:]:
            for k in ENV_KEYS:
                if part.context.get(k) != rs.context.get(k):
                    warnings.append(f'{side}: {part.path} differs from {rs.parts[0].path} in {k}')
    return warnings, notes


def compare(base: ResultSet, new: ResultSet, *, metric: str, alpha: float, threshold: float,
            correction: str = 'holm') -> Outcome:
    """Judges every benchmark present in both. With correction 'holm' the p-values are
    adjusted for the number of benchmarks judged, so a run of many stays green by chance.
    Raises BadInput when nothing can be judged: no benchmark in common, the metric in neither,
    or too few repetitions for the test to ever reach significance."""
    bv, be, bn = collect(base, metric)
    nv, ne, nn = collect(new, metric)
    common = sorted(set(bn) & set(nn))
    if not common:
        raise BadInput(f'no benchmark in common between {base.path} ({len(bn)} benchmarks) '
                       f'and {new.path} ({len(nn)} benchmarks)')
    # Benchmarks without this metric (rtt_* outside pingpong) are listed, not judged.
    judged = [k for k in common if (k in bv or k in nv) and not be.get(k) and not ne.get(k)]
    if not any(k in bv or k in nv for k in common):
        raise BadInput(f'metric "{metric}" is in no benchmark of either file '
                       '(real_time, cpu_time or a counter such as latency_p99_ns)')
    level = alpha / len(judged) if correction == 'holm' and judged else alpha
    short = [k for k in judged if not stats.can_reach(len(bv.get(k, [])), len(nv.get(k, [])),
                                                      level)]
    if short:
        k, need = short[0], stats.min_repetitions(level)
        many = f' over {len(judged)} benchmarks (Holm)' if level != alpha else ''
        raise BadInput(
            f'too few repetitions: {bn[k]} has {len(bv.get(k, []))} in base and '
            f'{len(nv.get(k, []))} in new ({len(short)} benchmarks like it); at --alpha {alpha:g}'
            f'{many}, each side needs at least {need} (ipcbench run --repetitions {need}, or '
            'several runs per side in a folder)')
    rows = []
    for k in common:
        row = Row(name=bn[k])
        if ne.get(k):
            row.verdict, row.note = 'failed in new', f'{ne[k]} failed repetitions in new'
        elif be.get(k):
            row.verdict, row.note = 'failed in base', f'{be[k]} failed repetitions in base'
        elif k not in bv or k not in nv:
            row.verdict, row.note = 'not judged', f'no {metric} on one side'
        else:
            row.judgement = stats.judge(bv[k], nv[k], alpha=alpha, threshold=threshold,
                                        higher_is_better=higher_is_better(metric))
        rows.append(row)
    judged_rows = [r for r in rows if r.judgement]
    adjusted = (stats.holm([r.judgement.p_value for r in judged_rows]) if correction == 'holm'
                else [r.judgement.p_value for r in judged_rows])
    for r, p in zip(judged_rows, adjusted):
        r.judgement.p_adjusted = p
        stats.decide(r.judgement, p, alpha=alpha, threshold=threshold,
                     higher_is_better=higher_is_better(metric))
        r.verdict, r.note = r.judgement.verdict, r.judgement.reason
    warnings, notes = env_differences(base, new)
    return Outcome(rows=rows, only_base=[bn[k] for k in sorted(set(bn) - set(nn))],
                   only_new=[nn[k] for k in sorted(set(nn) - set(bn))], warnings=warnings,
                   notes=notes)


_ORDER = {'failed in new': 0, stats.REGRESSION: 1, stats.IMPROVEMENT: 2, 'failed in base': 3,
          'not judged': 4, stats.UNCHANGED: 5}


def markdown(out: Outcome, base: ResultSet, new: ResultSet, *, metric: str, alpha: float,
             threshold: float, correction: str = 'holm') -> str:
    """The comparison as Markdown: a headline, warnings, the table (worst first), the lists of
    benchmarks present on one side only."""
    fails = out.failed
    counts = {v: sum(r.verdict == v for r in out.rows) for v in _ORDER}
    n_reg = counts[stats.REGRESSION]
    head = (f'{n_reg} regression{"s" if n_reg != 1 else ""}' if n_reg else 'no regression')
    if counts['failed in new']:
        head += f', {counts["failed in new"]} failing in new'
    lines = [f'## ipcbench compare: {head}', '']
    direction = 'higher' if higher_is_better(metric) else 'lower'
    lines.append(f'Metric `{metric}` ({direction} is better); a regression is a change worse '
                 f'than {threshold:.0%} with Mann-Whitney p < {alpha:g}'
                 + (' (Holm-adjusted over the benchmarks judged). ' if correction == 'holm'
                    else '. ')
                 + f'Base `{base.label}`, new `{new.label}`. '
                 + ', '.join(f'{n} {v}' for v, n in counts.items() if n) + '.')
    lines.append('')
    for w in out.warnings:
        lines.append(f'> **Warning:** {w}')
    for n in out.notes:
        lines.append(f'> Note: {n}')
    if out.warnings or out.notes:
        lines.append('')
    conf = f'{1 - alpha:.0%}'
    lines += [f'| benchmark | base | new | change [{conf} CI] | p | n | verdict |',
              '|---|---:|---:|---:|---:|---:|---|']
    for r in sorted(out.rows, key=lambda r: (_ORDER.get(r.verdict, 9), r.name)):
        j = r.judgement
        verdict = f'**{r.verdict}**' if r in fails else r.verdict
        if r.note and r.verdict != stats.REGRESSION:
            verdict += f' ({r.note})'
        if j is None:
            lines.append(f'| `{r.name}` | – | – | – | – | – | {verdict} |')
            continue
        lines.append(f'| `{r.name}` | {fmt.metric_text(metric, j.base_median)} | '
                     f'{fmt.metric_text(metric, j.new_median)} | {fmt.change_text(j.change)} '
                     f'[{fmt.change_text(j.ci_low)}, {fmt.change_text(j.ci_high)}] | '
                     f'{fmt.p_text(j.p_adjusted)} | {j.n_base}/{j.n_new} | {verdict} |')
    lines += ['', f'change: the Hodges-Lehmann estimate (median of all pairwise new/base ratios) '
              f'with its {conf} interval; base and new: medians of the repetitions, n: how many. '
              f'It can differ from the ratio of the two medians when repetitions spread.']
    for title, names in (('Only in base (not compared)', out.only_base),
                         ('Only in new (not compared)', out.only_new)):
        if names:
            lines += ['', f'{title}: ' + ', '.join(f'`{n}`' for n in names)]
    return '\n'.join(lines) + '\n'
