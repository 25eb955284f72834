"""compare's outcome as Markdown, ready for a pull-request comment: a headline, warnings,
one row per benchmark (worst first) with each benchmark's detectable change, and the
benchmarks present on one side only."""
from __future__ import annotations

from reports import fmt, gate, metrics
from reports.compare import FAILED_BASE, FAILED_NEW, NOT_JUDGED, Outcome

_ORDER = {FAILED_NEW: 0, gate.REGRESSION: 1, gate.IMPROVEMENT: 2, FAILED_BASE: 3,
          gate.TOO_NOISY: 4, gate.INCONCLUSIVE: 5, NOT_JUDGED: 6, gate.UNCHANGED: 7}
DESIGN = {'paired': 'paired t test on the per-round log ratios of interleaved rounds',
          'pooled': 'two-sample t test on log round medians (rounds not interleaved)',
          'calibrated': "one round per side against this runner's calibrated noise"}


def headline(out: Outcome) -> str:
    counts = {v: sum(r.verdict == v for r in out.rows) for v in _ORDER}
    n_reg = counts[gate.REGRESSION]
    head = f'{n_reg} regression{"s" if n_reg != 1 else ""}' if n_reg else 'no regression'
    if counts[FAILED_NEW]:
        head += f', {counts[FAILED_NEW]} failing in new'
    if counts[gate.INCONCLUSIVE] and counts[gate.INCONCLUSIVE] == len(out.rows):
        head = 'inconclusive (1 round per side)'
    return head


def _legend(out: Outcome, base, new, opts: gate.Options) -> str:
    counts = {v: sum(r.verdict == v for r in out.rows) for v in _ORDER}
    direction = 'higher' if gate.higher_is_better(opts.metric) else 'lower'
    designs = sorted({r.judgement.design for r in out.rows if r.judgement
                      and r.judgement.design})
    return (f'Metric {metrics.describe(opts.metric)} ({direction} is better), judged across '
            'rounds (each '
            'round: the median of its repetitions) with '
            + (', '.join(DESIGN[d] for d in designs) or 'no test') + '. A regression is a '
            f'change worse than {gate.threshold_for(opts):.0%} with p < {opts.alpha:g}'
            + (' (Holm-adjusted over the benchmarks tested)' if opts.correction == 'holm'
               else '') + f'. Base `{base.label}`, new `{new.label}`. '
            + ', '.join(f'{n} {v}' for v, n in counts.items() if n) + '.')


def _row(r, fails, metric) -> str:
    j = r.judgement
    verdict = f'**{r.verdict}**' if r in fails else r.verdict
    if r.note and r.verdict != gate.REGRESSION:
        verdict += f' ({r.note})'
    if j is None or j.estimate is None:
        vals = (f'{fmt.metric_text(metric, j.base_value)} | {fmt.metric_text(metric, j.new_value)}'
                if j else '– | –')
        n = f'{j.n_base}/{j.n_new}' if j else '–'
        return f'| `{r.name}` | {vals} | – | – | – | {n} | {verdict} |'
    e = j.estimate
    return (f'| `{r.name}` | {fmt.metric_text(metric, j.base_value)} | '
            f'{fmt.metric_text(metric, j.new_value)} | {fmt.change_text(e.change)} '
            f'[{fmt.change_text(e.low)}, {fmt.change_text(e.high)}] | '
            f'{gate.fmt_change(j.detectable)} | {fmt.p_text(j.p_adjusted)} | '
            f'{j.n_base}/{j.n_new} | {verdict} |')


def markdown(out: Outcome, base, new, opts: gate.Options) -> str:
    lines = [f'## ipcbench compare: {headline(out)}', '', _legend(out, base, new, opts), '']
    for w in out.warnings:
        lines.append(f'> **Warning:** {w}')
    for n in out.notes:
        lines.append(f'> Note: {n}')
    if out.warnings or out.notes:
        lines.append('')
    conf = f'{1 - opts.alpha:.0%}'
    lines += [f'| benchmark | base | new | change [{conf} CI] | detectable | p | rounds | '
              'verdict |', '|---|---:|---:|---:|---:|---:|---:|---|']
    fails = out.failed
    for r in sorted(out.rows, key=lambda r: (_ORDER.get(r.verdict, 9), r.name)):
        lines.append(_row(r, fails, opts.metric))
    sources = {r.judgement.detectable_from for r in out.rows if r.judgement
               and r.judgement.estimate}
    lines += ['', f'base, new: medians over the rounds of each round\'s median; rounds: how '
              f'many per side. change: the estimated ratio new/base with its {conf} '
              'interval. detectable: the smallest change this comparison detects with '
              f'{opts.power:.0%} power (from {" and ".join(sorted(sources)) or "nothing"}); '
              'a benchmark that cannot see the threshold is "too noisy" and is flagged only '
              'beyond what it can see.']
    for title, names in (('Only in base (not compared)', out.only_base),
                         ('Only in new (not compared)', out.only_new)):
        if names:
            lines += ['', f'{title}: ' + ', '.join(f'`{n}`' for n in names)]
    return '\n'.join(lines) + '\n'
