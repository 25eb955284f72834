"""The verdict on one benchmark, judged across rounds (rounds.py): a paired t test on the
per-round log ratios when the rounds were interleaved, a pooled two-sample t test when not,
and with one round per side only a calibrated bound of this runner's between-round noise.
The change and its interval come from the same t model as the p-value.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from reports import calibration, rounds, stats

REGRESSION, IMPROVEMENT, UNCHANGED = 'regression', 'improvement', 'unchanged'
INCONCLUSIVE, TOO_NOISY = 'inconclusive', 'too noisy'
# Tail metrics: p99 and beyond rest on few samples per repetition and move with the host's
# interrupts, so they get their own, larger threshold.
TAIL = re.compile(r'_(p99\d*|max)_')


@dataclass
class Options:
    metric: str = 'median'
    alpha: float = 0.05
    threshold: float = 0.05
    tail_threshold: float = 0.25
    power: float = 0.8
    correction: str = 'holm'
    calibration: dict | None = None


@dataclass
class Judgement:
    """One benchmark's comparison; `estimate` is None when it could not be tested."""
    n_base: int
    n_new: int
    base_value: float                  # median over rounds of the round medians
    new_value: float
    design: str                        # 'paired', 'pooled', 'calibrated', ''
    estimate: stats.Estimate | None = None
    detectable: float = math.inf       # smallest change detected with the set power
    detectable_from: str = ''          # 'calibration' or 'these rounds'
    p_adjusted: float = math.nan
    verdict: str = ''
    reason: str = ''


def higher_is_better(metric: str) -> bool:
    """Rates are better when higher; times, latencies, CPU and context switches when lower."""
    return metric.endswith('_per_second')


def threshold_for(opts: Options) -> float:
    return max(opts.threshold, opts.tail_threshold) if TAIL.search(opts.metric) \
        else opts.threshold


def _logs(values) -> np.ndarray:
    return np.log(np.asarray(values, float))


def test(b: rounds.Series, n: rounds.Series, paired: bool, opts: Options) -> Judgement:
    """The estimate for one benchmark (no verdict yet: that needs every benchmark's p)."""
    j = Judgement(len(b.values), len(n.values), float(np.median(b.values)),
                  float(np.median(n.values)), '')
    if min(b.values + n.values) <= 0:
        j.verdict, j.reason = UNCHANGED, f'not judged: {opts.metric} is 0 in some round'
        return j
    x, y = rounds.pairs(b, n)
    cal = calibration.entry(opts.calibration, b.name, opts.metric)
    if paired and len(x) >= 2:
        j.design, j.estimate = 'paired', stats.paired_test(_logs(y) - _logs(x), opts.alpha)
    elif j.n_base + j.n_new >= 3:
        j.design, j.estimate = 'pooled', stats.pooled_test(_logs(b.values), _logs(n.values),
                                                           opts.alpha)
    elif cal:
        j.design = 'calibrated'
        j.estimate = stats.known_noise_test(float(_logs(n.values).mean() - _logs(b.values).mean()),
                                            cal['sigma_pair'], cal['df'], opts.alpha)
    else:
        j.verdict = INCONCLUSIVE
        j.reason = ('1 round per side; run scripts/ci-regression or pass folders of several '
                    'rounds')
    return j


def set_detectable(j: Judgement, opts: Options, m: int, cal: dict | None) -> None:
    """The detectable change at this benchmark's rounds, Holm over m: from the calibrated
    spread when there is one (stable), else from these rounds' own spread."""
    e, level = j.estimate, opts.alpha / max(m, 1)
    if cal and j.design == 'paired':
        se, df, j.detectable_from = cal['sigma_pair'] / math.sqrt(e.df + 1), e.df, 'calibration'
    elif cal and j.design == 'calibrated':
        se, df, j.detectable_from = cal['sigma_pair'], cal['df'], 'calibration'
    elif cal and j.design == 'pooled':
        se = cal.get('sigma_round', cal['sigma_pair']) * math.sqrt(1 / j.n_base + 1 / j.n_new)
        df, j.detectable_from = e.df, 'calibration'
    else:
        se, df, j.detectable_from = e.se, e.df, 'these rounds'
    j.detectable = stats.detectable(se, df, level, opts.power)


def decide(j: Judgement, opts: Options) -> None:
    """Verdict from the adjusted p: a regression when significant and worse than the
    threshold, or, for a benchmark too noisy to see the threshold, worse than what it can
    detect; an improvement symmetrically."""
    thr = threshold_for(opts)
    noisy = j.detectable > thr
    bar = j.detectable if noisy else thr
    change = j.estimate.change
    worse = -change if higher_is_better(opts.metric) else change
    rounds_text = f'{min(j.n_base, j.n_new)} round{"s" if min(j.n_base, j.n_new) > 1 else ""}'
    if j.design == 'calibrated':
        # One round per side: real A/A rounds on a shared VM have differed by 6x in one round of
        # twelve, beyond any bound a calibration of the other rounds gives, so a single pair
        # never fails the gate; beyond the calibrated noise it is named, to be confirmed.
        j.verdict = INCONCLUSIVE
        if j.p_adjusted < opts.alpha and abs(worse) > bar:
            kind = 'regression' if worse > 0 else 'improvement'
            j.reason = (f'possible {kind} ({fmt_change(abs(change))}, beyond the calibrated '
                        'noise); 1 round per side cannot confirm it: run scripts/ci-regression')
        else:
            j.reason = 'within the calibrated noise (1 round per side)'
    elif j.p_adjusted < opts.alpha and worse > bar:
        j.verdict, j.reason = REGRESSION, ''
    elif j.p_adjusted < opts.alpha and worse < -bar:
        j.verdict, j.reason = IMPROVEMENT, ''
    elif noisy:
        j.verdict = TOO_NOISY
        j.reason = (f'to gate at {rounds_text}: detects {fmt_change(j.detectable)} or more, '
                    f'threshold {thr:.0%}')
    elif j.p_adjusted >= opts.alpha:
        j.verdict, j.reason = UNCHANGED, 'not significant'
    else:
        j.verdict, j.reason = UNCHANGED, 'below threshold'


def fmt_change(rel: float) -> str:
    """A detectable change; beyond +1000% only that (the benchmark cannot be gated)."""
    return '>+1000%' if rel > 10 else f'{rel * 100:+.1f}%'


def judge_all(pairs: list, paired: bool, opts: Options) -> list:
    """Judgements for [(base Series, new Series)], p Holm-adjusted over those tested."""
    js = [test(b, n, paired, opts) for b, n in pairs]
    tested = [(j, b) for j, (b, _) in zip(js, pairs) if j.estimate is not None]
    ps = [j.estimate.p_value for j, _ in tested]
    adjusted = stats.holm(ps) if opts.correction == 'holm' else ps
    m = len(tested) if opts.correction == 'holm' else 1
    for (j, b), p in zip(tested, adjusted):
        j.p_adjusted = p
        set_detectable(j, opts, m, calibration.entry(opts.calibration, b.name, opts.metric))
        decide(j, opts)
    return js
