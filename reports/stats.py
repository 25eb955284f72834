"""Statistics of the regression gate, on log values of round summaries (one number per round,
see rounds.py): Student's t distribution, the paired and the two-sample t test with the
confidence interval from the same model, the smallest change a test can detect, and Holm's
correction. Pure computation, no I/O, no scipy (the tests check against it when present).

Why t on logs: a round's median of its repetitions is close to log-normal across rounds, the
change is then a ratio ("+10%" means the same for 200 ns and 2 ms), and unlike rank tests
the t test reaches small p with few rounds, which Holm over many benchmarks needs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def beta_inc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return beta_inc(df / 2.0, 0.5, df / (df + t * t))


@lru_cache(maxsize=4096)
def t_quantile(q: float, df: float) -> float:
    """The q-quantile of Student's t (0 < q < 1), by bisection on the distribution."""
    if q == 0.5:
        return 0.0
    upper = q > 0.5
    tail = 2.0 * (1.0 - q if upper else q)       # two-sided probability beyond the answer
    lo, hi = 0.0, 1.0
    while t_two_sided(hi, df) > tail:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if t_two_sided(mid, df) > tail else (lo, mid)
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return hi if upper else -hi


@dataclass
class Estimate:
    """A change of NEW against BASE on log values: `log_change` with its standard error and
    degrees of freedom; relative change and (1 - alpha) interval; two-sided p."""
    log_change: float
    se: float
    df: float
    change: float
    low: float
    high: float
    p_value: float


def rel(log_change: float) -> float:
    """exp(x) - 1, a relative change from a log one; inf beyond what a float holds (a t
    quantile of few degrees of freedom over many benchmarks can be in the thousands)."""
    return math.expm1(log_change) if log_change < 709 else math.inf


def _estimate(diff: float, se: float, df: float, alpha: float) -> Estimate:
    if se <= 0 or not math.isfinite(se):
        p = 1.0 if diff == 0 else 0.0
        return Estimate(diff, 0.0, df, rel(diff), rel(diff), rel(diff), p)
    half = t_quantile(1 - alpha / 2, df) * se
    return Estimate(diff, se, df, rel(diff), rel(diff - half), rel(diff + half),
                    t_two_sided(diff / se, df))


def paired_test(log_diffs, alpha: float) -> Estimate:
    """Paired t test on per-round log ratios new/base (interleaved rounds). Needs 2 or more."""
    d = np.asarray(log_diffs, float)
    return _estimate(float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))), len(d) - 1,
                     alpha)


def pooled_test(base_logs, new_logs, alpha: float) -> Estimate:
    """Two-sample t test with pooled variance on log round values (rounds not interleaved).
    Needs 3 or more rounds in all, so that one side may have a single round."""
    a, b = np.asarray(base_logs, float), np.asarray(new_logs, float)
    df = len(a) + len(b) - 2
    ss = float(((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum())
    se = math.sqrt(ss / df * (1 / len(a) + 1 / len(b)))
    return _estimate(float(b.mean() - a.mean()), se, df, alpha)


def known_noise_test(log_diff: float, sigma: float, df: float, alpha: float) -> Estimate:
    """One round per side against a calibrated between-round spread `sigma` of a log
    difference (estimated with df degrees of freedom)."""
    return _estimate(log_diff, sigma, df, alpha)


def detectable(se: float, df: float, alpha: float, power: float) -> float:
    """Smallest relative change a two-sided t test at level alpha (already divided by the
    number of benchmarks) detects with probability `power`, given the standard error of
    the log change: (t[1 - alpha/2] + t[power]) * se."""
    if not math.isfinite(se) or df < 1:
        return math.inf
    return rel((t_quantile(1 - alpha / 2, df) + t_quantile(power, df)) * se)


def holm(pvalues) -> list:
    """Holm-Bonferroni adjusted p-values, in the input's order: judging many benchmarks at
    level alpha then keeps the chance of any false alarm in the whole run below alpha."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted, running = [1.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted
