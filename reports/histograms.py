"""histograms.json, the sidecar of bench.json: every repetition's full one-way latency (and,
for pingpong, round-trip) histogram. Buckets have a fixed log-linear layout, so histograms of
repetitions or rounds merge by adding the counts of equal buckets; a CDF read from them is the
real distribution, not five percentile points. Only `report` reads them (the gate does not).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from reports import load

FILE = 'histograms.json'
SCHEMA = 1


@dataclass
class Histogram:
    """Counts per bucket (low_ns, high_ns), merged over repetitions; count and sum as written."""
    buckets: dict = field(default_factory=dict)
    count: int = 0
    total_ns: float = 0.0
    lowest: float = math.inf
    highest: float = 0.0

    def add(self, other: 'Histogram') -> None:
        for b, c in other.buckets.items():
            self.buckets[b] = self.buckets.get(b, 0) + c
        self.count += other.count
        self.total_ns += other.total_ns
        self.lowest = min(self.lowest, other.lowest)
        self.highest = max(self.highest, other.highest)

    @property
    def mean_ns(self) -> float:
        return self.total_ns / self.count if self.count else math.nan


def cdf(h: Histogram) -> tuple:
    """([latency_ns], [fraction at or below]) as a step function: one point per non-empty
    bucket at its upper bound (the last at the recorded maximum), starting at the minimum."""
    total = sum(h.buckets.values())
    if not total:
        return [], []
    xs, ys, seen = [h.lowest], [0.0], 0
    for (low, high), c in sorted(h.buckets.items()):
        if not c:
            continue
        seen += c
        xs.append(max(min(high, h.highest), low, xs[-1]))
        ys.append(seen / total)
    return xs, ys


def _bad(path, what):
    return load.BadInput(f'{path}: {what}')


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _histogram(raw, path: str, where: str) -> Histogram:
    """One histogram object {count, min, max, sum, buckets}. Raises BadInput."""
    if not isinstance(raw, dict) or not isinstance(raw.get('buckets'), list):
        raise _bad(path, f'{where}: expected an object with a "buckets" list')
    h = Histogram()
    for i, b in enumerate(raw['buckets']):
        if not (isinstance(b, list) and len(b) == 3 and all(_int(x) for x in b)
                and 0 <= b[0] <= b[1] and b[2] >= 0):
            raise _bad(path, f'{where}.buckets[{i}] is not [low_ns, high_ns, count] with '
                       'low <= high and a count')
        key = (b[0], b[1])
        h.buckets[key] = h.buckets.get(key, 0) + b[2]
    for k in ('count', 'min', 'max', 'sum'):
        v = raw.get(k)
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and v >= 0):
            raise _bad(path, f'{where}.{k} is missing or not a count')
    if raw['count'] != sum(h.buckets.values()):
        raise _bad(path, f'{where}: count {raw["count"]} is not the sum of its buckets '
                   f'({sum(h.buckets.values())}); file edited or broken?')
    h.count, h.total_ns = int(raw['count']), float(raw['sum'])
    h.lowest, h.highest = float(raw['min']), float(raw['max'])
    return h


def read(path: str) -> dict:
    """(name, repetition_index) -> {'latency': Histogram, 'rtt': Histogram (pingpong)} from
    one histograms.json. Raises BadInput naming the file and what is wrong."""
    doc = load.parse_json_text(load.read_text(path), path)
    if not isinstance(doc, dict) or doc.get('ipcbench_histograms_schema_version') != SCHEMA:
        raise _bad(path, f'not an ipcbench histograms file of schema {SCHEMA} (no '
                   '"ipcbench_histograms_schema_version": 1)')
    if doc.get('unit', 'ns') != 'ns' or not isinstance(doc.get('benchmarks'), list):
        raise _bad(path, 'expected "unit": "ns" and a "benchmarks" list')
    out = {}
    for i, b in enumerate(doc['benchmarks']):
        if not isinstance(b, dict) or not isinstance(b.get('name'), str):
            raise _bad(path, f'benchmarks[{i}] has no name')
        rep = b.get('repetition_index', 0)
        if not _int(rep) or rep < 0:
            raise _bad(path, f'benchmarks[{i}] ({b["name"]}): repetition_index is not a count')
        out[b['name'], rep] = {k: _histogram(b[k], path, f'benchmarks[{i}].{k}')
                               for k in ('latency', 'rtt') if k in b}
    return out


def _base_name(name: str) -> str:
    """A bench.json entry's name without Google Benchmark's suffixes (the sidecar's name)."""
    parts = name.split('/')
    while parts and (parts[-1] in load.GB_SUFFIXES or parts[-1].startswith(load.GB_PREFIXED)):
        parts.pop()
    return '/'.join(parts)


def attach(rs: load.ResultSet) -> int:
    """Reads the histograms.json beside each of rs's bench.json files (if any), puts the
    merged histograms in rs.histograms (Key -> {'latency': .., 'rtt': ..}) and each clean
    repetition's mean one-way latency in its values as `latency_mean_ns`. Returns how many
    repetitions got a histogram; 0 when there is no sidecar."""
    found = 0
    for part in (rs.parts or [rs]):
        folder = os.path.dirname(os.path.abspath(part.path)) if os.path.isfile(part.path) \
            else part.path
        path = os.path.join(folder, FILE)
        if not os.path.isfile(path):
            continue
        per = read(path)
        for e in part.entries:
            if e.run_type != 'iteration' or e.error:
                continue
            hs = per.get((_base_name(e.name), e.repetition))
            if not hs:
                continue
            found += 1
            if 'latency' in hs and hs['latency'].count:
                e.values['latency_mean_ns'] = hs['latency'].mean_ns
            merged = rs.histograms.setdefault(e.key, {})
            for kind, h in hs.items():
                merged.setdefault(kind, Histogram()).add(h)
    return found
