""""Which mechanism should I use?" as plain data: the best waiter of each backend per workload,
size and placement (with its spread over repetitions), the latency against CPU time per message
with its Pareto front, cross against same placement, and the short answers that open the
summary (fastest, cheapest in CPU, best blocking). Ranking: pingpong by latency (p50, or the
mean with --metric mean), the other workloads by payload throughput.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from reports import compute, metrics as mx
from reports.compute import backend_rank, sync_rank
from reports.load import ResultSet

BLOCKING = ('block', 'adaptive')     # wait modes that give the CPU away while waiting


@dataclass
class Pick:
    """One benchmark as a candidate: its ranking value with the spread over repetitions."""
    label: str                # result set
    key: object               # load.Key
    value: float              # latency (ns) for pingpong, else bytes per second
    low: float
    high: float
    repetitions: int
    latency: float            # the latency metric (p50 or mean), ns
    throughput: float         # bytes per second
    cpu: float                # cpu_self + cpu_peer per message, ns (nan when absent)
    wait_mode: str

    @property
    def name(self) -> str:
        return f'{self.key.backend} / {compute.variant(self.key, False)}'


def by_latency(workload: str) -> bool:
    """pingpong is ranked by latency (lower is better), the others by throughput."""
    return workload == 'pingpong'


def ranking_metric(workload: str, metric=mx.MEDIAN) -> str:
    return mx.latency(metric) if by_latency(workload) else 'bytes_per_second'


def _better(workload: str):
    return (lambda a, b: a < b) if by_latency(workload) else (lambda a, b: a > b)


def candidates(rs: ResultSet, workload: str, metric=mx.MEDIAN) -> list:
    """Every clean benchmark of `workload` in rs as a Pick (any size, placement, fan)."""
    rank = ranking_metric(workload, metric)
    pts = compute.points(rs, mx.reduce(metric))
    spread = compute.spreads(rs, rank)
    modes = compute.wait_modes(rs)
    lat = mx.latency(metric)
    out = []
    for key, vals in pts.items():
        if key.workload != workload or rank not in vals:
            continue
        low, high, n = spread.get(key, (vals[rank], vals[rank], 1))
        cpu = vals.get('cpu_self_ns_per_msg', math.nan) + vals.get('cpu_peer_ns_per_msg', 0.0)
        out.append(Pick(rs.label, key, vals[rank], low, high, n, vals.get(lat, math.nan),
                        vals.get('bytes_per_second', math.nan), cpu, modes.get(key, key.sync)))
    return sorted(out, key=lambda p: (backend_rank(p.key.backend), sync_rank(p.key.sync), p.key))


def groups(sets: list, workload: str, metric=mx.MEDIAN) -> dict:
    """(size, fan) -> (set label, placement) -> [Pick]: the comparable candidates."""
    out = {}
    for rs in sets:
        for p in candidates(rs, workload, metric):
            out.setdefault((p.key.size, p.key.fan), {}).setdefault(
                (rs.label, p.key.placement), []).append(p)
    return dict(sorted(out.items()))


def best(picks: list, workload: str, only=None):
    """The best Pick of `picks` by the workload's ranking (ties: display order); `only`
    filters them first. None when nothing is left."""
    better = _better(workload)
    found = None
    for p in picks:
        if (only is None or only(p)) and (found is None or better(p.value, found.value)):
            found = p
    return found


def best_per_backend(picks: list, workload: str) -> list:
    """The best waiter (and copy mode) of each backend, best backend first."""
    per = {}
    for p in picks:
        per.setdefault(p.key.backend, []).append(p)
    winners = [best(ps, workload) for ps in per.values()]
    return sorted(winners, key=lambda p: p.value, reverse=not by_latency(workload))


def pareto_front(picks: list) -> list:
    """The picks no other pick beats in both latency and CPU per message (both lower is
    better), ordered by CPU; picks without both numbers are left out."""
    ok = [p for p in picks if math.isfinite(p.cpu) and math.isfinite(p.latency)]
    front, lowest = [], math.inf
    for p in sorted(ok, key=lambda p: (p.cpu, p.latency)):
        if p.latency < lowest:
            front.append(p)
            lowest = p.latency
    return front


@dataclass
class Answer:
    """The summary's opening lines for one workload, size and placement of one set."""
    label: str
    workload: str
    size: int
    fan: int
    placement: str
    fastest: Pick
    cheapest: Pick | None      # lowest CPU per message (both sides)
    blocking: Pick | None      # fastest whose wait mode gives the CPU away (block, adaptive)
    picks: list                # every candidate compared


def answers(sets: list, metric=mx.MEDIAN) -> list:
    """[Answer] per workload, size (and fan), set and placement, in display order."""
    out = []
    workloads = sorted({e.key.workload for rs in sets for e in rs.entries},
                       key=compute.workload_rank)
    for w in workloads:
        for (size, fan), by_place in groups(sets, w, metric).items():
            for (label, placement), picks in by_place.items():
                with_cpu = [p for p in picks if math.isfinite(p.cpu)]
                out.append(Answer(
                    label, w, size, fan, placement, best(picks, w),
                    min(with_cpu, key=lambda p: p.cpu) if with_cpu else None,
                    best(picks, w, lambda p: p.wait_mode in BLOCKING), picks))
    return out


def placement_pairs(sets: list, workload: str, size: int, metric=mx.MEDIAN) -> list:
    """[(set label, cross Pick, same Pick)] of the benchmarks that ran in both placements at
    `size`, ordered by their cross value (best first)."""
    out = []
    for rs in sets:
        at = {}
        for p in candidates(rs, workload, metric):
            if p.key.size == size:
                at.setdefault((p.key.backend, p.key.sync, p.key.inplace, p.key.fan),
                              {})[p.key.placement] = p
        for both in at.values():
            if 'cross' in both and 'same' in both:
                out.append((rs.label, both['cross'], both['same']))
    return sorted(out, key=lambda t: (t[0] != sets[0].label, t[1].value if by_latency(workload)
                                      else -t[1].value))


def floor_at(rs: ResultSet, workload: str, size: int, placement: str):
    """(value, what) of the physical floor (pingpong: the polling one-way floor at that size)
    or ceiling (stream: the ring's copy-in + copy-out rate) measured in this run and
    placement, from context.floors; None when the run has none at that size."""
    for f in rs.context.get('floors') or []:
        if not isinstance(f, dict) or f.get('placement', placement) != placement:
            continue
        for z in f.get('sizes') or []:
            if isinstance(z, dict) and z.get('bytes') == size:
                if workload == 'pingpong' and z.get('pingpong_copy_ns'):
                    return float(z['pingpong_copy_ns']), 'floor: cache-line hand-off + copies'
                if workload == 'stream' and z.get('stream_copy_bytes_per_second'):
                    return (float(z['stream_copy_bytes_per_second']),
                            'ceiling: ring copy in + out')
    return None


def handoff(rs: ResultSet, placement: str):
    """The blocking futex hand-off measured in this run and placement (ns), or None."""
    for f in rs.context.get('floors') or []:
        if isinstance(f, dict) and f.get('placement') == placement:
            v = f.get('futex_handoff_ns')
            return float(v) if isinstance(v, (int, float)) and v > 0 else None
    return None
