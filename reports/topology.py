"""Core-to-core latency from a run with `--placement all-pairs`: every pair of CPUs ran the
same benchmark (placement `cpuA-cpuB`, the measured side on A, the peer on B); this arranges
their one-way latency into a CPU x CPU matrix per mechanism. Computing only; charts_topology.py
draws it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from reports import compute, metrics as mx
from reports.dist import Heatmap
from reports.load import ResultSet

PAIR = re.compile(r'^cpu(\d+)-cpu(\d+)$')


@dataclass
class CoreMap:
    """One mechanism's matrix: rows are the measured side's CPU, columns the peer's."""
    workload: str
    backend: str
    sync: str
    size: int
    inplace: bool
    cpus: list            # CPU numbers, ascending
    cells: list           # len(cpus) x len(cpus); math.nan on the diagonal and where not run
    measured: int         # pairs that really ran (the rest are mirrored or missing)
    mirrored: int         # cells filled from the pair the other way round (B-A for A-B)

    def heatmap(self) -> Heatmap:
        names = [f'CPU {c}' for c in self.cpus]
        return Heatmap(names, names, self.cells)

    def values(self) -> list:
        return [v for row in self.cells for v in row if math.isfinite(v)]


def pair_of(placement: str):
    """(A, B) of a placement named cpuA-cpuB, else None."""
    m = PAIR.match(placement or '')
    return (int(m.group(1)), int(m.group(2))) if m else None


def core_maps(rs: ResultSet, metric=mx.MEDIAN) -> list:
    """[CoreMap] of every (workload, backend, sync, size, copy mode) that ran on at least one
    cpuA-cpuB pair, in backend and sync order. A cell holds the p50 one-way latency (the mean
    with metric 'mean') over clean repetitions; a pair that ran one way only fills the other
    way too (a ping-pong's round trip is the same both ways), and says so in `mirrored`."""
    lat = mx.latency(metric)
    groups = {}
    for key, vals in compute.points(rs, mx.reduce(metric)).items():
        pair = pair_of(key.placement)
        if pair is None or lat not in vals:
            continue
        g = (key.workload, key.backend, key.sync, key.size, key.inplace)
        groups.setdefault(g, {})[pair] = vals[lat]
    out = []
    for g in sorted(groups, key=lambda g: (compute.workload_rank(g[0]),
                                          compute.backend_rank(g[1]),
                                          compute.sync_rank(g[2]), g[3], g[4])):
        got = groups[g]
        cpus = sorted({c for pair in got for c in pair})
        cells, mirrored = [], 0
        for a in cpus:
            row = []
            for b in cpus:
                if (a, b) in got:
                    row.append(got[a, b])
                elif (b, a) in got:
                    row.append(got[b, a])
                    mirrored += 1
                else:
                    row.append(math.nan)
            cells.append(row)
        out.append(CoreMap(*g, cpus=cpus, cells=cells, measured=len(got), mirrored=mirrored))
    return out
