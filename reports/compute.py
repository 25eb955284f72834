"""What the charts and tables show, computed from loaded result sets and returned as plain data
(no drawing here). One value per benchmark and metric: the median over its clean repetitions.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from reports import fmt
from reports.load import Key, ResultSet

# Display order: shared memory first, then kernel channels; waiters from busiest to calmest.
BACKEND_ORDER = ('sysv_shm', 'posix_shm', 'mmap_file', 'memfd', 'pipe', 'fifo', 'unix_stream',
                 'unix_seqpacket', 'sysv_msg', 'posix_mq', 'tcp_loopback')
SYNC_ORDER = ('spin', 'yield', 'sleep', 'futex', 'adaptive', 'posix_sem', 'sysv_sem', 'condvar',
              'eventfd', 'block', 'poll', 'busy')
# One-way latency percentiles as (quantile, counter); the maximum is drawn past the last one.
QUANTILES = ((0.5, 'latency_p50_ns'), (0.9, 'latency_p90_ns'), (0.99, 'latency_p99_ns'),
             (0.999, 'latency_p999_ns'), (1.0, 'latency_max_ns'))


def _rank(order, name):
    return (order.index(name), name) if name in order else (len(order), name)


def backend_rank(b):
    return _rank(BACKEND_ORDER, b)


def sync_rank(s):
    return _rank(SYNC_ORDER, s)


def points(rs: ResultSet) -> dict:
    """Key -> {metric: median over clean repetitions}; failed benchmarks map to {'error': 1}."""
    values, failed = {}, set()
    for e in rs.entries:
        if e.run_type != 'iteration':
            continue
        if e.error:
            failed.add(e.key)
            continue
        per = values.setdefault(e.key, {})
        for m, v in e.values.items():
            if math.isfinite(v):
                per.setdefault(m, []).append(v)
    out = {k: {m: statistics.median(vs) for m, vs in per.items()} for k, per in values.items()}
    for k in failed - set(out):
        out[k] = {'error': 1.0}
    return out


def variant(key: Key, with_placement: bool) -> str:
    """The line's name inside one backend's panel: sync, (inplace), @placement."""
    text = key.sync + (' (inplace)' if key.inplace else '')
    return text + (f' @{key.placement}' if with_placement and key.placement else '')


def row_name(key: Key, with_placement: bool) -> str:
    """A table row or heatmap row: backend / sync with the same marks."""
    return f'{key.backend} / {variant(key, with_placement)}'


@dataclass
class Series:
    """One line: a result set's benchmarks that differ only in the x value."""
    label: str                 # the result set's label
    backend: str
    name: str                  # variant(...) within the backend
    sync: str
    x: list = field(default_factory=list)
    y: dict = field(default_factory=dict)   # metric -> list aligned with x


def _with_placement(sets) -> bool:
    return any(rs.multi_placement() for rs in sets)


def size_series(sets: list, workload: str, metrics: tuple) -> dict:
    """backend -> [Series over payload size] for `workload`; only benchmarks that have every
    metric. Backends and lines in display order."""
    wp = _with_placement(sets)
    lines = {}
    for rs in sets:
        for key, vals in sorted(points(rs).items()):
            if key.workload != workload or not all(m in vals for m in metrics):
                continue
            s = lines.setdefault((backend_rank(key.backend), sync_rank(key.sync), key.inplace,
                                  key.placement, rs.label),
                                 Series(rs.label, key.backend, variant(key, wp), key.sync))
            s.x.append(key.size)
            for m in metrics:
                s.y.setdefault(m, []).append(vals[m])
    by_backend = {}
    for _, s in sorted(lines.items(), key=lambda kv: kv[0]):
        order = sorted(range(len(s.x)), key=lambda i: s.x[i])
        s.x = [s.x[i] for i in order]
        s.y = {m: [v[i] for i in order] for m, v in s.y.items()}
        by_backend.setdefault(s.backend, []).append(s)
    return by_backend


def floor_lines(sets: list, workload: str, metric: str) -> dict:
    """backend -> ([sizes], [values]): the physical floor under that backend's lines, from the
    first set's per-benchmark counters (`floor_ns`: the lowest at each size, i.e. the floor of
    its fastest waiter; `ceiling_bytes_per_second`: the highest). Empty without floors."""
    best = min if metric == 'floor_ns' else max
    per = {}
    for key, vals in (points(sets[0]).items() if sets else ()):
        if key.workload == workload and metric in vals:
            at = per.setdefault(key.backend, {})
            at[key.size] = best(at.get(key.size, vals[metric]), vals[metric])
    return {b: (sorted(at), [at[x] for x in sorted(at)]) for b, at in per.items() if len(at) > 1}


def sizes_of(sets: list, workload: str) -> list:
    return sorted({e.key.size for rs in sets for e in rs.entries if e.key.workload == workload})


def cdf_series(sets: list, workload: str, size: int) -> dict:
    """backend -> [Series] whose x are the quantiles of QUANTILES and y['latency'] the
    latencies, for `workload` at `size` (a CDF drawn through the recorded percentiles)."""
    wp = _with_placement(sets)
    out = {}
    for rs in sets:
        for key, vals in sorted(points(rs).items(), key=lambda kv: (
                backend_rank(kv[0].backend), sync_rank(kv[0].sync), kv[0])):
            if key.workload != workload or key.size != size:
                continue
            qs = [(q, vals[m]) for q, m in QUANTILES if m in vals and vals[m] > 0]
            if len(qs) < 2:
                continue
            out.setdefault(key.backend, []).append(Series(
                rs.label, key.backend, variant(key, wp), key.sync, [q for q, _ in qs],
                {'latency': [v for _, v in qs]}))
    return out


@dataclass
class Heatmap:
    rows: list          # backend (+ inplace, + placement)
    cols: list          # sync
    cells: list         # rows x cols of p50 ns, math.nan where the combination did not run


def heatmap(rs: ResultSet, workload: str, size: int, metric='latency_p50_ns') -> Heatmap:
    """Mechanism x waiter matrix of `metric` for one result set at one size."""
    wp = rs.multi_placement()
    cells = {}
    for key, vals in points(rs).items():
        if key.workload == workload and key.size == size and metric in vals:
            row = (backend_rank(key.backend), key.inplace, key.placement)
            name = key.backend + (' (inplace)' if key.inplace else '') + (
                f' @{key.placement}' if wp else '')
            cells[(row, name), key.sync] = vals[metric]
    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells}, key=sync_rank)
    return Heatmap([name for _, name in rows], cols,
                   [[cells.get((r, c), math.nan) for c in cols] for r in rows])


def fan_series(sets: list) -> dict:
    """workload (fanin/fanout) -> [Series over the number of peers] with y['bytes_per_second']
    and y['latency_p50_ns']; empty when no fan workload ran."""
    wp = _with_placement(sets)
    lines = {}
    for rs in sets:
        for key, vals in points(rs).items():
            if key.workload not in ('fanin', 'fanout') or 'bytes_per_second' not in vals:
                continue
            name = f'{key.backend} / {variant(key, wp)}, {fmt.size_text(key.size)}'
            s = lines.setdefault((key.workload, backend_rank(key.backend), sync_rank(key.sync),
                                  key.inplace, key.placement, key.size, rs.label),
                                 Series(rs.label, key.backend, name, key.sync))
            s.x.append(int(vals.get('fan', 1)))
            for m in ('bytes_per_second', 'latency_p50_ns'):
                s.y.setdefault(m, []).append(vals.get(m, math.nan))
    out = {}
    for k, s in sorted(lines.items(), key=lambda kv: kv[0]):
        order = sorted(range(len(s.x)), key=lambda i: s.x[i])
        s.x = [s.x[i] for i in order]
        s.y = {m: [v[i] for i in order] for m, v in s.y.items()}
        out.setdefault(k[0], []).append(s)
    return out


def cell_text(workload: str, vals: dict) -> str:
    """A summary table cell: latency p50 / p99 for pingpong, else throughput (p50); then the
    CPU per message of the measured side + the peers."""
    if 'error' in vals:
        return 'error'
    if workload == 'pingpong':
        text = (f'{fmt.ns_text(vals.get("latency_p50_ns"))} / '
                f'{fmt.ns_text(vals.get("latency_p99_ns"))}')
    else:
        text = (f'{fmt.rate_text(vals.get("bytes_per_second"))} '
                f'({fmt.ns_text(vals.get("latency_p50_ns"))})')
    if 'cpu_self_ns_per_msg' in vals:
        text += (f'; cpu {fmt.ns_text(vals["cpu_self_ns_per_msg"])} + '
                 f'{fmt.ns_text(vals.get("cpu_peer_ns_per_msg"))}')
    return text


def tables(sets: list) -> dict:
    """workload -> (header, rows): rows are backend / sync, columns size (x result set when
    several); cells as cell_text. Workloads in the order pingpong, stream, fanin, fanout."""
    wp = _with_placement(sets)
    pts = [points(rs) for rs in sets]
    workloads = sorted({k.workload for p in pts for k in p},
                       key=lambda w: _rank(('pingpong', 'stream', 'fanin', 'fanout'), w))
    out = {}
    for w in workloads:
        cols = [(size, i) for size in sizes_of(sets, w) for i in range(len(sets))]
        keys = sorted({(backend_rank(k.backend), sync_rank(k.sync), k.inplace, k.placement,
                        row_name(k, wp)) for p in pts for k in p if k.workload == w})
        header = ['backend / sync'] + [
            fmt.size_text(s) + (f' ({sets[i].label})' if len(sets) > 1 else '') for s, i in cols]
        rows = []
        for *_, name in keys:
            row = [name]
            for size, i in cols:
                match = [v for k, v in pts[i].items() if k.workload == w and k.size == size
                         and row_name(k, wp) == name]
                row.append(cell_text(w, match[0]) if match else '–')
            rows.append(row)
        out[w] = (header, rows)
    return out
