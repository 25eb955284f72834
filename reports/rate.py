"""The open-loop rate workload (`rate/BACKEND/SYNC/SIZE/RATE`) as data: one sweep per mechanism
(backend, sync, size, placement, copy mode and result set) over the offered rates, its
coordinated-omission-corrected latency percentiles beside the uncorrected p99, achieved against
offered rate, back-pressure, both sides' CPU per message, and its saturation point: the lowest
offered rate from which on the run could not carry what it was offered (achieved below 95% of
offered, the `saturated` counter).
The other workloads' answers and tables leave rate out (its throughput is what it was offered,
not what the mechanism can do): see `without_rate`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from reports import compute, fmt, metrics as mx

WORKLOAD = 'rate'
SATURATED_BELOW = 0.95   # achieved / offered below this: saturated (as the harness decides)
# Columns of a sweep: counter name in bench.json -> what the table and chart call it.
PERCENTILES = (('latency_p50_ns', 'p50'), ('latency_p99_ns', 'p99'),
               ('latency_p999_ns', 'p99.9'), ('latency_max_ns', 'max'))
UNCORRECTED_P99 = 'uncorrected_p99_ns'


def without_rate(sets: list) -> list:
    """The sets without their rate entries (for the answers, tables and generic charts)."""
    return [dataclasses.replace(rs, entries=[e for e in rs.entries
                                             if e.key.workload != WORKLOAD]) for rs in sets]


@dataclass
class Sweep:
    """One mechanism's rate benchmarks, ordered by offered rate."""
    label: str
    backend: str
    sync: str
    size: int
    name: str                                   # 'posix_shm / spin, 64 B' (+ placement)
    rates: list = field(default_factory=list)   # offered messages per second
    values: list = field(default_factory=list)  # per rate: the metric dict of compute.points

    def saturated_at(self):
        """The saturation point: the lowest offered rate from which every higher rate was
        saturated too (a stall that cost one lower rate its 95% is not the point), or None
        (the highest rate was carried)."""
        at = None
        for r, v in zip(self.rates, self.values):
            at = (at or r) if saturated(r, v) else None
        return at

    def column(self, metric: str) -> list:
        return [v.get(metric, math.nan) for v in self.values]


def saturated(offered: float, vals: dict) -> bool:
    if 'saturated' in vals:
        return vals['saturated'] >= 0.5
    achieved = vals.get('achieved_rate', math.nan)
    return math.isfinite(achieved) and achieved < SATURATED_BELOW * offered


def sweeps(sets: list, metric=mx.MEDIAN) -> list:
    """[Sweep] of every rate benchmark in the sets (failed ones left out), mechanisms in the
    report's backend / sync order."""
    wp = compute._with_placement(sets)
    found = {}
    for rs in sets:
        for key, vals in compute.points(rs, mx.reduce(metric)).items():
            if key.workload != WORKLOAD or 'error' in vals or not key.rate:
                continue
            g = (compute.backend_rank(key.backend), compute.sync_rank(key.sync), key.size,
                 key.placement, key.inplace, rs.label)
            name = f'{key.backend} / {compute.variant(key, wp)}, {fmt.size_text(key.size)}'
            if len(sets) > 1:
                name += f' ({rs.label})'
            s = found.setdefault(g, Sweep(rs.label, key.backend, key.sync, key.size, name))
            s.rates.append(key.rate)
            s.values.append(vals)
    out = []
    for g in sorted(found):
        s = found[g]
        order = sorted(range(len(s.rates)), key=lambda i: s.rates[i])
        s.rates = [s.rates[i] for i in order]
        s.values = [s.values[i] for i in order]
        out.append(s)
    return out


def rate_label(r: float, digits: int = 6) -> str:
    """100000 -> '100k', 2500000 -> '2.5M' (as the harness names rates); `digits`
    significant digits at most (an achieved rate: 4)."""
    for unit, suffix in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if r >= unit:
            return f'{r / unit:.{digits}g}{suffix}'
    return f'{r:.{digits}g}'


def table(s: Sweep) -> tuple:
    """(header, rows): per offered rate, achieved, corrected percentiles, uncorrected p99,
    back-pressure and both sides' CPU per message."""
    header = (['offered /s', 'achieved /s'] + [f'{t} (corrected)' for _, t in PERCENTILES[:3]]
              + ['p99 uncorrected', 'max', 'back-pressured', 'cpu/msg self (pacing) + peer'])
    rows = []
    for r, v in zip(s.rates, s.values):
        achieved = v.get('achieved_rate', math.nan)
        mark = ' **saturated**' if saturated(r, v) else ''
        bp = v.get('backpressured_fraction', math.nan)
        rows.append([rate_label(r), (rate_label(achieved, 4) if math.isfinite(achieved) else '–')
                     + mark]
                    + [fmt.ns_text(v.get(m, math.nan)) for m, _ in PERCENTILES[:3]]
                    + [fmt.ns_text(v.get(UNCORRECTED_P99, math.nan)),
                       fmt.ns_text(v.get('latency_max_ns', math.nan)),
                       f'{bp * 100:.1f}%' if math.isfinite(bp) else '–',
                       f'{fmt.ns_text(v.get("cpu_self_ns_per_msg", math.nan))} '
                       f'({fmt.ns_text(v.get("pace_poll_ns_per_msg", math.nan))}) + '
                       f'{fmt.ns_text(v.get("cpu_peer_ns_per_msg", math.nan))}'])
    return header, rows


EXPLAIN = ('Open loop: the sender sends on a fixed schedule whether or not earlier messages '
           'arrived. Corrected latency counts from each message\'s intended send time (a stall '
           'delays every message behind it, as wrk2 and HdrHistogram define it); uncorrected '
           'counts from the actual send, as a closed-loop tool would. Back-pressured: messages '
           'that came due while a send waited for room. The sender\'s CPU includes its pacing '
           '(in brackets: the time it polled the clock for due times). Saturated: achieved below '
           f'{SATURATED_BELOW:.0%} of offered.')


def blocks(sets: list, metric=mx.MEDIAN) -> list:
    """The summary's rate section: one table per sweep (nothing when no rate benchmark ran)."""
    found = sweeps(sets, metric)
    if not found:
        return []
    out = [('h2', 'Latency under offered load (rate)'), ('p', EXPLAIN)]
    for s in found:
        sat = s.saturated_at()
        out.append(('p', f'**{s.name}**: ' + (f'saturated at {rate_label(sat)} messages/s.'
                                              if sat else 'never saturated in this run.')))
        header, rows = table(s)
        out.append(('table', header, rows))
    return out
