"""Distributions and matrices as plain data: the latency CDF of each mechanism (from the full
histograms of histograms.json, else through the five recorded percentiles, marked as such),
the mechanism x waiter heatmap, and the NEW/BASE ratio heatmap of two runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from reports import compute, histograms, metrics as mx
from reports.compute import Series, backend_rank, sync_rank, variant
from reports.load import ResultSet

# One-way latency percentiles as (quantile, counter); the maximum is drawn past the last one.
QUANTILES = ((0.5, 'latency_p50_ns'), (0.9, 'latency_p90_ns'), (0.99, 'latency_p99_ns'),
             (0.999, 'latency_p999_ns'), (1.0, 'latency_max_ns'))


@dataclass
class Cdf:
    """backend -> [Series] with x the latency (ns) and y['fraction'] the share of messages at
    or below it; `from_histograms` False when drawn through the percentile points only."""
    by_backend: dict
    from_histograms: bool
    samples: int = 0          # messages behind the histograms (0 for percentile points)


def _keys_at(rs: ResultSet, workload: str, size: int):
    keys = {e.key for e in rs.iterations() if e.key.workload == workload and e.key.size == size}
    return sorted(keys, key=lambda k: (backend_rank(k.backend), sync_rank(k.sync), k))


def cdf_series(sets: list, workload: str, size: int, metric=mx.MEDIAN) -> Cdf:
    """The one-way latency CDF per mechanism and waiter of `workload` at `size`: from the
    merged histograms when every set has them, else through QUANTILES (one set without the
    sidecar would otherwise mix two kinds of line on one chart)."""
    wp = any(rs.multi_placement() for rs in sets)
    use_hist = all(rs.histograms for rs in sets)
    out, samples = {}, 0
    for rs in sets:
        pts = compute.points(rs, mx.reduce(metric))
        for key in _keys_at(rs, workload, size):
            s = Series(rs.label, key.backend, variant(key, wp), key.sync)
            if use_hist:
                h = rs.histograms.get(key, {}).get('latency')
                if not h or not h.count:
                    continue
                s.x, s.y['fraction'] = histograms.cdf(h)
                samples += h.count
            else:
                vals = pts.get(key, {})
                qs = [(q, vals[m]) for q, m in QUANTILES if vals.get(m, 0) > 0]
                if len(qs) < 2:
                    continue
                s.x, s.y['fraction'] = [v for _, v in qs], [q for q, _ in qs]
            out.setdefault(key.backend, []).append(s)
    return Cdf(out, use_hist, samples)


@dataclass
class Heatmap:
    rows: list          # backend (+ inplace, + placement)
    cols: list          # sync
    cells: list         # rows x cols of the metric, math.nan where the combination did not run


def _row(key, wp: bool):
    return ((backend_rank(key.backend), key.inplace, key.placement),
            key.backend + (' (inplace)' if key.inplace else '')
            + (f' @{key.placement}' if wp else ''))


def heatmap(rs: ResultSet, workload: str, size: int, metric=mx.MEDIAN, wp=None) -> Heatmap:
    """Mechanism x waiter matrix of the latency (p50, or the mean) for one result set."""
    wp = rs.multi_placement() if wp is None else wp
    lat = mx.latency(metric)
    cells = {}
    for key, vals in compute.points(rs, mx.reduce(metric)).items():
        if key.workload == workload and key.size == size and lat in vals:
            cells[_row(key, wp), key.sync] = vals[lat]
    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells}, key=sync_rank)
    return Heatmap([name for _, name in rows], cols,
                   [[cells.get((r, c), math.nan) for c in cols] for r in rows])


def ratio_heatmap(base: ResultSet, new: ResultSet, workload: str, size: int,
                  metric=mx.MEDIAN) -> Heatmap:
    """NEW / BASE of the latency per mechanism x waiter (above 1: NEW is slower); cells
    only where both ran."""
    wp = base.multi_placement() or new.multi_placement()
    a, b = (heatmap(rs, workload, size, metric, wp) for rs in (base, new))
    at = {(r, c): v for h in (a,) for r, row in zip(h.rows, h.cells) for c, v in zip(h.cols, row)}
    rows = [r for r in a.rows if r in b.rows]
    cols = [c for c in a.cols if c in b.cols]
    cells = []
    for r in rows:
        row_b = b.cells[b.rows.index(r)]
        cells.append([row_b[b.cols.index(c)] / at[r, c]
                      if at[r, c] > 0 and math.isfinite(at[r, c]) else math.nan for c in cols])
    keep = [i for i, row in enumerate(cells) if any(math.isfinite(v) for v in row)]
    return Heatmap([rows[i] for i in keep], cols, [cells[i] for i in keep])
