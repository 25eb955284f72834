"""What the charts and tables show, computed from loaded result sets and returned as plain data
(no drawing here). One value per benchmark and metric: the median over its clean repetitions
(the mean with the report's --metric mean; metrics.py). answers.py picks the winners and
dist.py holds the distributions and heatmaps.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from reports import fmt, metrics as mx
from reports.load import Key, ResultSet

# Display order: shared memory first, then kernel channels; waiters from busiest to calmest.
BACKEND_ORDER = ('sysv_shm', 'posix_shm', 'mmap_file', 'memfd', 'pipe', 'fifo', 'unix_stream',
                 'unix_seqpacket', 'sysv_msg', 'posix_mq', 'tcp_loopback')
SYNC_ORDER = ('spin', 'yield', 'sleep', 'futex', 'adaptive', 'posix_sem', 'sysv_sem', 'condvar',
              'eventfd', 'block', 'poll', 'busy')
WORKLOAD_ORDER = ('pingpong', 'stream', 'fanin', 'fanout')


def _rank(order, name):
    return (order.index(name), name) if name in order else (len(order), name)


def backend_rank(b):
    return _rank(BACKEND_ORDER, b)


def sync_rank(s):
    return _rank(SYNC_ORDER, s)


def workload_rank(w):
    return _rank(WORKLOAD_ORDER, w)


def points(rs: ResultSet, reduce=statistics.median) -> dict:
    """Key -> {metric: `reduce` (median, or metrics.reduce(M)) over clean repetitions};
    failed benchmarks map to {'error': 1}."""
    out, failed = {}, set()
    for key, per in _values(rs).items():
        if per is None:
            failed.add(key)
        else:
            out[key] = {m: reduce(vs) for m, vs in per.items()}
    for k in failed - set(out):
        out[k] = {'error': 1.0}
    return out


def _values(rs: ResultSet) -> dict:
    """Key -> {metric: [finite values of the clean repetitions]}, None for a benchmark
    with no clean repetition but a failed one."""
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
    return {**{k: None for k in failed}, **values}


def spreads(rs: ResultSet, metric: str) -> dict:
    """Key -> (lowest, highest, repetitions) of `metric` over clean repetitions (and rounds):
    the error bar of a chart."""
    out = {}
    for key, per in _values(rs).items():
        if per and per.get(metric):
            vs = per[metric]
            out[key] = (min(vs), max(vs), len(vs))
    return out


def wait_modes(rs: ResultSet) -> dict:
    """Key -> how the sides really waited (the entries' wait_mode: spin, yield, sleep, block,
    adaptive), or the sync's name when the file predates the field."""
    return {e.key: e.text.get('wait_mode', e.key.sync) for e in rs.entries}


def variant(key: Key, with_placement: bool) -> str:
    """The line's name inside one backend's panel: sync, (inplace), @placement."""
    text = key.sync + (' (inplace)' if key.inplace else '')
    return text + (f' @{key.placement}' if with_placement and key.placement else '')


def placements(sets: list) -> list:
    """The placements the sets ran, in the order cross, same, free."""
    found = {e.key.placement for rs in sets for e in rs.entries}
    return sorted(found, key=lambda p: _rank(('cross', 'same', 'free'), p))


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


def size_series(sets: list, workload: str, metrics: tuple, metric=mx.MEDIAN) -> dict:
    """backend -> [Series over payload size] for `workload`; only benchmarks that have every
    one of `metrics`. Backends and lines in display order."""
    wp = _with_placement(sets)
    lines = {}
    for rs in sets:
        for key, vals in sorted(points(rs, mx.reduce(metric)).items()):
            if key.workload != workload or not all(m in vals for m in metrics):
                continue
            s = lines.setdefault((backend_rank(key.backend), sync_rank(key.sync), key.inplace,
                                  key.placement, key.fan, rs.label),
                                 Series(rs.label, key.backend, variant(key, wp), key.sync))
            s.x.append(key.size)
            for m in metrics:
                s.y.setdefault(m, []).append(vals[m])
    by_backend = {}
    for _, s in sorted(lines.items(), key=lambda kv: kv[0]):
        _sort_by_x(s)
        by_backend.setdefault(s.backend, []).append(s)
    return by_backend


def _sort_by_x(s: Series) -> None:
    order = sorted(range(len(s.x)), key=lambda i: s.x[i])
    s.x = [s.x[i] for i in order]
    s.y = {m: [v[i] for i in order] for m, v in s.y.items()}


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


def fans_of(sets: list) -> list:
    """The distinct peer counts of the fanin / fanout benchmarks in the sets."""
    return sorted({e.key.fan for rs in sets for e in rs.entries if e.key.fan})


def fan_series(sets: list, metric=mx.MEDIAN) -> dict:
    """workload (fanin/fanout) -> [Series over the number of peers] with y['bytes_per_second']
    and y['latency_p50_ns']. A mechanism's points join into one line across the sets when
    their fan values differ (a --fan 2 folder and a --fan 4 folder make one line); sets that
    repeat a fan value keep a line each. Empty when no fan workload ran."""
    wp = _with_placement(sets)
    groups = {}
    for rs in sets:
        for key, vals in points(rs, mx.reduce(metric)).items():
            if key.workload in ('fanin', 'fanout') and 'bytes_per_second' in vals:
                groups.setdefault((key.workload, backend_rank(key.backend), sync_rank(key.sync),
                                   key.inplace, key.placement, key.size), []).append(
                    (rs.label, key, vals))
    out = {}
    for g, found in sorted(groups.items(), key=lambda kv: kv[0]):
        fans = [k.fan for _, k, _ in found]
        joined = len(set(fans)) == len(fans)
        lines = {}
        for label, key, vals in found:
            name = f'{key.backend} / {variant(key, wp)}, {fmt.size_text(key.size)}'
            s = lines.setdefault('' if joined else label,
                                 Series(label, key.backend, name, key.sync))
            s.x.append(key.fan)
            for m in ('bytes_per_second', 'latency_p50_ns'):
                s.y.setdefault(m, []).append(vals.get(m, math.nan))
        for s in lines.values():
            _sort_by_x(s)
            out.setdefault(g[0], []).append(s)
    return out


def cell_text(workload: str, vals: dict, latency='latency_p50_ns') -> str:
    """A summary table cell: latency (p50, or the mean) / p99 for pingpong, else throughput
    (latency); then the CPU per message of the measured side + the peers."""
    if 'error' in vals:
        return 'error'
    if workload == 'pingpong':
        text = (f'{fmt.ns_text(vals.get(latency))} / '
                f'{fmt.ns_text(vals.get("latency_p99_ns"))}')
    else:
        text = (f'{fmt.rate_text(vals.get("bytes_per_second"))} '
                f'({fmt.ns_text(vals.get(latency))})')
    if 'cpu_self_ns_per_msg' in vals:
        text += (f'; cpu {fmt.ns_text(vals["cpu_self_ns_per_msg"])} + '
                 f'{fmt.ns_text(vals.get("cpu_peer_ns_per_msg"))}')
    return text


@dataclass
class Table:
    """One summary table: a workload (and fan) at sizes that ran the same rows."""
    workload: str
    title: str
    header: list
    rows: list


def _column_groups(cells: dict, cols: list) -> list:
    """Columns grouped by the exact set of rows that have a cell in them, in column order:
    a table of every column would be mostly empty when some mechanisms ran at more sizes."""
    groups = {}
    for c in cols:
        groups.setdefault(frozenset(r for r, cc in cells if cc == c), []).append(c)
    return sorted(groups.items(), key=lambda kv: cols.index(kv[1][0]))


def tables(sets: list, metric=mx.MEDIAN) -> list:
    """[Table]: per workload (and peer count), one table per group of sizes that ran the
    same rows, so that no cell is empty; rows backend / sync, columns size (x result set when
    several), cells cell_text. Workloads in the order pingpong, stream, fanin, fanout."""
    wp = _with_placement(sets)
    pts = [points(rs, mx.reduce(metric)) for rs in sets]
    lat = mx.latency(metric)
    out = []
    for w, fan in sorted({(k.workload, k.fan) for p in pts for k in p},
                         key=lambda wf: (workload_rank(wf[0]), wf[1])):
        cells, rank = {}, {}
        for i, p in enumerate(pts):
            for k, v in p.items():
                if k.workload == w and k.fan == fan:
                    name = row_name(k, wp)
                    cells[name, (k.size, i)] = cell_text(w, v, lat)
                    rank[name] = (backend_rank(k.backend), sync_rank(k.sync), k.inplace,
                                  k.placement)
        cols = sorted({c for _, c in cells})
        base = w + (f', {fan} peers' if fan else '')
        for rows, group in _column_groups(cells, cols):
            sizes = list(dict.fromkeys(fmt.size_text(s) for s, _ in group))
            header = ['backend / sync'] + [
                fmt.size_text(s) + (f' ({sets[i].label})' if len(sets) > 1 else '')
                for s, i in group]
            body = [[r] + [cells[r, c] for c in group] for r in sorted(rows, key=rank.get)]
            out.append(Table(w, f'{base} at {", ".join(sizes)}', header, body))
    return out
