"""Statistics of the regression gate: the Mann-Whitney U test on the repetitions of both sides,
the Hodges-Lehmann estimate of the change with its distribution-free confidence interval (the
interval that inverts the same U test), and the verdict. Pure computation, no I/O.

Why these: benchmark repetitions are skewed and have outliers (a preempted run), so rank tests
and medians are used rather than means and t-tests; the change is estimated on log values, so
"+10%" means the same for a 200 ns and a 2 ms benchmark.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from statistics import NormalDist

import numpy as np

REGRESSION, IMPROVEMENT, UNCHANGED = 'regression', 'improvement', 'unchanged'


@dataclass
class Judgement:
    """The comparison of one benchmark. `change` and the interval are relative (0.10 = +10%)."""
    n_base: int
    n_new: int
    base_median: float
    new_median: float
    change: float
    ci_low: float
    ci_high: float
    p_value: float            # the U test's p for this benchmark alone
    verdict: str
    reason: str
    p_adjusted: float = math.nan  # after the correction for many benchmarks, when applied


@lru_cache(maxsize=256)
def u_counts(n: int, m: int) -> tuple:
    """Exact null distribution of U for samples of n and m without ties: counts[u] is the
    number of the C(n+m, n) orderings with U = u (the Gaussian binomial coefficient)."""
    poly = [1]
    for i in range(1, n + 1):
        # multiply by (1 - q^(m+i)), then divide by (1 - q^i)
        grown = poly + [0] * (m + i)
        for j in range(len(poly)):
            grown[j + m + i] -= poly[j]
        for j in range(i, len(grown)):
            grown[j] += grown[j - i]
        poly = grown[:n * m + 1] if len(grown) > n * m + 1 else grown
    return tuple(poly[:n * m + 1])


def min_repetitions(alpha: float) -> int:
    """Fewest repetitions per side for which the U test can reach p < alpha at all (the most
    extreme ordering has two-sided p = 2 / C(2n, n))."""
    n = 1
    while 2.0 / math.comb(2 * n, n) > alpha:
        n += 1
    return n


def can_reach(n: int, m: int, alpha: float) -> bool:
    """Whether samples of n and m can show significance at alpha."""
    return n >= 1 and m >= 1 and 2.0 / math.comb(n + m, n) <= alpha


def critical_rank(n: int, m: int, alpha: float) -> int:
    """k for the (1 - alpha) interval [d(k), d(nm+1-k)] of the sorted pairwise differences:
    the largest k with P(U <= k-1) <= alpha/2 under the null. 0 when no interval exists."""
    if n * m <= 2500:
        counts = u_counts(n, m)
        total = math.comb(n + m, n)
        cum, k = 0, 0
        while k < len(counts) and (cum + counts[k]) / total <= alpha / 2:
            cum += counts[k]
            k += 1
        return k
    z = NormalDist().inv_cdf(1 - alpha / 2)
    k = int(math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12)))
    return max(k, 0)


def _ranks(values: np.ndarray) -> tuple:
    """(ranks, tie_term): mid-ranks of values (1-based) and sum(t^3 - t) over tied groups."""
    order = np.argsort(values, kind='mergesort')
    sorted_v = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    counts = np.diff(np.r_[starts, len(values)])
    mid = starts + (counts + 1) / 2.0            # mid-rank of each group of equal values
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mid, counts)
    return ranks, float(np.sum(counts.astype(float) ** 3 - counts))


def u_test(base, new) -> float:
    """Two-sided Mann-Whitney U p-value: exact when there are no ties and n*m <= 2500, else the
    normal approximation with tie and continuity correction (as scipy's mannwhitneyu, which
    the tests check it against). 1.0 when every value is the same."""
    a, b = np.asarray(base, float), np.asarray(new, float)
    n, m = len(a), len(b)
    ranks, ties = _ranks(np.concatenate([a, b]))
    u = float(ranks[:n].sum() - n * (n + 1) / 2)
    if ties == 0 and n * m <= 2500:
        counts = u_counts(n, m)
        k = int(round(max(u, n * m - u)))        # the upper tail, by symmetry
        return min(1.0, 2.0 * sum(counts[k:]) / math.comb(n + m, n))
    total = n + m
    var = n * m / 12.0 * ((total + 1) - ties / (total * (total - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u - n * m / 2.0) - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))


def shift_estimate(base, new, alpha: float) -> tuple:
    """(change, low, high): Hodges-Lehmann estimate of new relative to base and its (1 - alpha)
    confidence interval. On log values when all are positive, otherwise on differences
    divided by the base median. low/high are -inf/+inf when the samples are too small."""
    a, b = np.asarray(base, float), np.asarray(new, float)
    positive = bool(np.all(a > 0) and np.all(b > 0))
    if positive:
        diffs = np.sort((np.log(b)[None, :] - np.log(a)[:, None]).ravel())
        to_rel = np.expm1
    else:
        scale = abs(float(np.median(a))) or 1.0
        diffs = np.sort((b[None, :] - a[:, None]).ravel()) / scale
        to_rel = (lambda x: x)
    est = float(to_rel(np.median(diffs)))
    k = critical_rank(len(a), len(b), alpha)
    if k < 1:
        return est, -math.inf, math.inf
    return est, float(to_rel(diffs[k - 1])), float(to_rel(diffs[len(diffs) - k]))


def judge(base, new, *, alpha: float, threshold: float, higher_is_better: bool) -> Judgement:
    """Verdict for one benchmark: a regression when the U test is significant (p < alpha)
    and the estimated change is worse than `threshold` in the metric's bad direction
    (slower for times, lower for rates); an improvement symmetrically; else unchanged."""
    a = [float(x) for x in base if math.isfinite(x)]
    b = [float(x) for x in new if math.isfinite(x)]
    p = u_test(a, b)
    change, low, high = shift_estimate(a, b, alpha)
    j = Judgement(len(a), len(b), float(np.median(a)), float(np.median(b)), change, low, high,
                  p, UNCHANGED, '')
    return decide(j, p, alpha=alpha, threshold=threshold, higher_is_better=higher_is_better)


def decide(j: Judgement, p: float, *, alpha, threshold, higher_is_better) -> Judgement:
    """Sets j's verdict from the p-value `p` (raw, or adjusted for many benchmarks)."""
    worse = -j.change if higher_is_better else j.change
    if p >= alpha:
        j.verdict, j.reason = UNCHANGED, 'not significant'
    elif worse > threshold:
        j.verdict, j.reason = REGRESSION, ''
    elif worse < -threshold:
        j.verdict, j.reason = IMPROVEMENT, ''
    else:
        j.verdict, j.reason = UNCHANGED, 'below threshold'
    return j


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
