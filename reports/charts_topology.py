"""The core-to-core heatmap (`--placement all-pairs`): one chart per mechanism, the one-way
latency between every pair of CPUs, one panel per result set. What it draws is computed in
topology.py.
"""
from __future__ import annotations

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
from matplotlib import ticker

from reports import fmt, topology
from reports.chartkit import Chart, ns_tick, save
from reports.charts_dist import heatmap_figure


def core_to_core(sets, opts) -> list:
    """[Chart], one per (workload, backend, sync, size, copy mode) that ran all-pairs."""
    per = {}
    for rs in sets:
        for m in topology.core_maps(rs, opts.metric):
            per.setdefault((m.workload, m.backend, m.sync, m.size, m.inplace), []).append((rs, m))
    made = []
    stat = 'mean' if opts.metric == 'mean' else 'p50'
    for (w, b, s, size, inplace), found in per.items():
        finite = [v for _, m in found for v in m.values() if v > 0]
        if not finite:
            continue
        mode = ' (inplace)' if inplace else ''
        what = f'{w} {b}/{s}{mode} {fmt.size_text(size)}'
        norm = mcolors.LogNorm(vmin=min(finite), vmax=max(max(finite), min(finite) * 1.01))
        cmap = plt.get_cmap('viridis').copy()
        cmap.set_bad('0.93')
        title = f'Core to core: {what}, {stat} one-way latency (row: measured side, column: peer)'
        maps = [(rs.label, m.heatmap()) for rs, m in found]
        fig = heatmap_figure(maps, title, fmt.short_ns, norm, cmap, f'{stat} one-way latency',
                             ticker.FuncFormatter(ns_tick), [rs for rs, _ in found])
        mirrored = sum(m.mirrored for _, m in found)
        desc = (f'{title}, from --placement all-pairs; {sum(m.measured for _, m in found)} pairs '
                f'measured' + (f', {mirrored} cells mirrored from the pair the other way round'
                               if mirrored else '') +
                f'; grey: the same CPU or not run. Lowest {fmt.short_ns(min(finite))}, highest '
                f'{fmt.short_ns(max(finite))}.')
        stem = (f'core_to_core_{w}_{b}_{s}_{fmt.size_text(size).replace(" ", "")}'
                + ('_inplace' if inplace else ''))
        made.append(save(fig, Chart(f'Core to core, {what}', stem, desc), opts))
    return made
