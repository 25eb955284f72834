"""Results for dashboards: Bencher Metric Format (BMF: benchmark -> measure -> value with
lower and upper bounds) and github-action-benchmark's custom JSON (a list of name, unit,
value, range, extra; one file for customSmallerIsBetter, one for customBiggerIsBetter).
Every value is the median over rounds of each round's median; the bounds are the lowest and
highest round (with one round: its lowest and highest repetition).
"""
from __future__ import annotations

import statistics

from reports import rounds
from reports.load import BadInput, ResultSet

# measure slug -> (how to get it from a round's values, unit, smaller is better)
MEASURES = {
    'latency-p50': (('latency_p50_ns',), 'ns', True),
    'latency-p99': (('latency_p99_ns',), 'ns', True),
    'throughput': (('bytes_per_second',), 'B/s', False),
    'cpu-per-message': (('cpu_self_ns_per_msg', 'cpu_peer_ns_per_msg'), 'ns', True),
}


def _summaries(rs: ResultSet) -> dict:
    """metric -> Key -> Series, for every counter the measures use."""
    metrics = {m for parts, _, _ in MEASURES.values() for m in parts}
    return {m: rounds.summarise(rs, m) for m in metrics}


def _spread(series_list) -> tuple:
    """(value, lower, upper) of a measure that is the sum of these Series' values."""
    per_round = [sum(vs) for vs in zip(*(s.values for s in series_list))]
    if len(per_round) == 1:
        reps = [sum(vs) for vs in zip(*(s.repetitions[0] for s in series_list))]
        return per_round[0], min(reps), max(reps)
    return statistics.median(per_round), min(per_round), max(per_round)


def measures(rs: ResultSet) -> dict:
    """benchmark name -> slug -> (value, lower, upper, unit, smaller_is_better), for the
    measures each benchmark has in every round (a failing benchmark has none)."""
    sums = _summaries(rs)
    out = {}
    for slug, (parts, unit, smaller) in MEASURES.items():
        for key in sums[parts[0]]:
            series = [sums[m].get(key) for m in parts]
            if any(s is None or s.failures or not s.values for s in series):
                continue
            if len({len(s.values) for s in series}) != 1:
                continue
            value, low, high = _spread(series)
            out.setdefault(series[0].name, {})[slug] = (value, low, high, unit, smaller)
    if not out:
        raise BadInput(f'{rs.path}: no benchmark has latency, throughput or CPU counters to '
                       'export')
    return out


def bmf(rs: ResultSet) -> dict:
    """The Bencher Metric Format document."""
    return {name: {slug: {'value': v, 'lower_value': lo, 'upper_value': hi}
                   for slug, (v, lo, hi, _, _) in sorted(ms.items())}
            for name, ms in sorted(measures(rs).items())}


def gab(rs: ResultSet, smaller_is_better: bool) -> list:
    """github-action-benchmark's custom format, for the tool customSmallerIsBetter (latency,
    CPU per message) or customBiggerIsBetter (throughput)."""
    n_rounds = len(rounds.rounds_of(rs))
    out = []
    for name, ms in sorted(measures(rs).items()):
        for slug, (v, lo, hi, unit, smaller) in sorted(ms.items()):
            if smaller != smaller_is_better:
                continue
            out.append({'name': f'{name} {slug}', 'unit': unit, 'value': v,
                        'range': f'{lo:.6g} to {hi:.6g}',
                        'extra': f'median of {n_rounds} round(s); range: lowest to highest'})
    return out
