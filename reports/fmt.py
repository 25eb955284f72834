"""Number formatting shared by the tables, charts and the compare output."""
from __future__ import annotations

import math


def ns_text(ns: float) -> str:
    """A duration in ns as '850 ns', '1.25 µs', '3.40 ms', '1.20 s'."""
    if ns is None or not math.isfinite(ns):
        return '–'
    if abs(ns) >= 1e9:
        return f'{ns / 1e9:.2f} s'
    if abs(ns) >= 1e6:
        return f'{ns / 1e6:.2f} ms'
    if abs(ns) >= 1e3:
        return f'{ns / 1e3:.2f} µs'
    return f'{ns:.0f} ns'


def rate_text(bps: float) -> str:
    """Bytes per second, decimal units as Google Benchmark's JSON counts them."""
    if bps is None or not math.isfinite(bps):
        return '–'
    if bps >= 1e9:
        return f'{bps / 1e9:.2f} GB/s'
    if bps >= 1e6:
        return f'{bps / 1e6:.1f} MB/s'
    return f'{bps / 1e3:.1f} kB/s'


def size_text(b: int) -> str:
    """Payload size in binary units, as the CLI takes them: 64 B, 4 KiB, 1 MiB."""
    if b >= 1 << 20 and b % (1 << 20) == 0:
        return f'{b >> 20} MiB'
    if b >= 1024 and b % 1024 == 0:
        return f'{b >> 10} KiB'
    return f'{b} B'


def plain_number(v: float) -> str:
    if v is None or not math.isfinite(v):
        return '–'
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-2):
        return f'{v:.3g}'
    return f'{v:.4g}'


def metric_text(metric: str, v: float) -> str:
    """A value of `metric` in its natural unit (times are in ns after loading)."""
    if metric.endswith('bytes_per_second'):
        return rate_text(v)
    if metric.endswith('_ns') or metric.endswith('_ns_per_msg') or metric in (
            'real_time', 'cpu_time', 'median', 'mean'):
        return ns_text(v)
    if metric == 'items_per_second':
        return f'{plain_number(v)}/s'
    return plain_number(v)


def change_text(rel: float) -> str:
    """A relative change: +12.3%, -4.0%; ±inf as 'inf'."""
    if rel is None or math.isnan(rel):
        return '–'
    if math.isinf(rel):
        return '+inf' if rel > 0 else '-inf'
    return f'{rel * 100:+.1f}%'


def p_text(p: float) -> str:
    if p < 1e-4:
        return '<0.0001'
    return f'{p:.4f}' if p < 0.01 else f'{p:.3f}'


def _three(v: float) -> str:
    return f'{v:.3g}'


def short_ns(ns: float) -> str:
    """Compact duration for axis ticks and heatmap cells: 3 significant digits, '180 ns',
    '17.3 µs', '1.2 ms'."""
    if ns is None or not math.isfinite(ns):
        return '–'
    for scale, unit in ((1e9, 's'), (1e6, 'ms'), (1e3, 'µs')):
        if abs(ns) >= scale:
            return f'{_three(ns / scale)} {unit}'
    return f'{_three(ns)} ns'


def short_rate(bps: float) -> str:
    """Compact bytes per second for axis ticks: '2.5 GB/s', '500 MB/s', '0'."""
    if bps is None or not math.isfinite(bps):
        return '–'
    if bps == 0:
        return '0'
    for scale, unit in ((1e9, 'GB/s'), (1e6, 'MB/s'), (1e3, 'kB/s')):
        if abs(bps) >= scale:
            return f'{_three(bps / scale)} {unit}'
    return f'{_three(bps)} B/s'
