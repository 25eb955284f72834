"""The latency CDF (from the full histograms), the mechanism x waiter heatmap and the NEW/BASE
ratio heatmap (each sized to its labels), and fan-in / fan-out scaling across peer counts.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib import colors as mcolors, ticker

from reports import compute, dist, fmt
from reports.chartkit import (BACKEND_COLOUR, BACKEND_MARKER, DASHES, Chart, add_footer,
                              log_ticks, ns_tick, rate_tick, save)
from reports.charts_size import Looks, _grid

# The CDF's y axis: -log10(1 - F), so that 50% 90% 99% 99.9% 99.99% are evenly spaced.
NINES = ((math.log10(2), '50%'), (1.0, '90%'), (2.0, '99%'), (3.0, '99.9%'),
         (4.0, '99.99%'))
TOP = 4.6               # where F = 1 (the maximum) is drawn
RATIO_TICKS = (0.1, 0.2, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 5.0, 10.0)


def _nines(f: float) -> float:
    return TOP if f >= 1.0 else min(TOP, -math.log10(1.0 - f))


def latency_cdf(sets, workload, size, opts):
    """Per backend: the one-way latency distribution at one size, waiters as lines."""
    cdf = dist.cdf_series(sets, workload, size, opts.metric)
    if not cdf.by_backend:
        return None
    backends = sorted(cdf.by_backend, key=compute.backend_rank)
    looks = Looks([s for b in backends for s in cdf.by_backend[b]], sets)
    fig, axes = _grid(len(backends))
    for ax, backend in zip(axes.flat, backends):
        ax.set_title(backend, fontweight='bold')
        for s in cdf.by_backend[backend]:
            style = looks.of(s)
            ys = [_nines(f) for f in s.y['fraction']]
            if cdf.from_histograms:
                ax.step(s.x, ys, where='post', color=style['color'], ls=style['ls'],
                        lw=style['lw'])
            else:
                ax.plot(s.x, ys, **style)
    ax = axes.flat[0]
    ax.set_xscale('log')
    log_ticks(ax.xaxis, ns_tick, most=4 if axes.shape[1] >= 3 else 6)
    ax.set_yticks([y for y, _ in NINES], [t for _, t in NINES])
    ax.set_ylim(0, TOP + 0.15)
    for a in axes[-1, :]:
        a.set_xlabel('one-way latency')
    for i, a in enumerate(axes.flat[:len(backends)]):
        a.tick_params(labelbottom=i + axes.shape[1] >= len(backends))
    how = ('from the full histograms' if cdf.from_histograms else
           'through the p50, p90, p99, p99.9 and max points only (no histograms.json)')
    fig.suptitle(f'{workload} {fmt.size_text(size)}: one-way latency distribution'
                 + ('' if cdf.from_histograms else f'\n{how}'), x=0.0, ha='left',
                 fontsize=10, fontweight='bold')
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    handles = looks.handles()
    legend = fig.legend(handles=handles, loc='upper center', bbox_to_anchor=(0.5, 0.0),
                        ncol=min(6, len(handles)), frameon=False)
    add_footer(fig, sets, f'{cdf.samples} timed messages.' if cdf.samples else
               'Percentile points, not a measured distribution: run a current ipcbench to get '
               'histograms.json.', below=legend)
    desc = (f'{workload} {fmt.size_text(size)}: the share of messages at or below each one-way '
            f'latency, {how}, one panel per backend ({", ".join(backends)}), y axis in nines '
            '(50%, 90%, 99%, 99.9%, ...).')
    stem = f'latency_cdf_{fmt.size_text(size).replace(" ", "")}'
    title = f'Latency distribution at {fmt.size_text(size)}' + (
        '' if cdf.from_histograms else ' (percentile points)')
    return save(fig, Chart(title, stem, desc), opts)


def _text_size(fig, texts, **kw) -> tuple:
    """(widest, tallest) of these strings in inches, as this figure would draw them."""
    renderer = fig.canvas.get_renderer()
    w = h = 0.0
    for s in texts:
        t = fig.text(0, 0, s, **kw)
        box = t.get_window_extent(renderer)
        w, h = max(w, box.width / fig.dpi), max(h, box.height / fig.dpi)
        t.remove()
    return w, h


def heatmap_figure(maps, title, cell_text, norm, cmap, bar_label, bar_format, sets,
                   ticks=None):
    """A figure of one heatmap panel per (name, Heatmap), sized to its row and column
    labels so that nothing is clipped: the margins are measured, not guessed."""
    fig = plt.figure(figsize=(4, 3))
    row_w, _ = _text_size(fig, [r for _, h in maps for r in h.rows], fontsize=7.5)
    col_w, _ = _text_size(fig, [c for _, h in maps for c in h.cols], fontsize=7.5,
                          rotation=45)
    cell_w, cell_h = 0.62, 0.27
    n_rows = max(len(h.rows) for _, h in maps)
    bar_h = max(n_rows * cell_h, 1.3)          # a colour bar needs room for its ticks
    panels = [len(h.cols) * cell_w for _, h in maps]
    left, gap, bar = row_w + 0.25, row_w + 0.35, 1.2
    width = left + sum(panels) + gap * (len(maps) - 1) + bar
    top = 0.55 + (0.2 if len(maps) > 1 else 0)
    height = top + bar_h + col_w + 0.15
    fig.set_size_inches(width, height)
    x = left
    image = None
    for name, h in maps:
        ax = fig.add_axes((x / width, (col_w + 0.15 + bar_h - len(h.rows) * cell_h) / height,
                           len(h.cols) * cell_w / width, len(h.rows) * cell_h / height))
        image = ax.imshow(h.cells, cmap=cmap, norm=norm, aspect='auto')
        ax.set_xticks(range(len(h.cols)), h.cols, rotation=45, ha='right',
                      rotation_mode='anchor', fontsize=7.5)
        ax.set_yticks(range(len(h.rows)), h.rows, fontsize=7.5)
        ax.grid(False)
        for i, row in enumerate(h.cells):
            for j, v in enumerate(row):
                if math.isfinite(v):
                    shade = cmap(norm(v))
                    dark = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] < 0.5
                    ax.text(j, i, cell_text(v), ha='center', va='center', fontsize=6.5,
                            color='white' if dark else 'black')
        if len(maps) > 1:
            ax.set_title(name, fontsize=8)
        x += len(h.cols) * cell_w + gap
    cax = fig.add_axes(((width - bar + 0.2) / width, (col_w + 0.15) / height, 0.12 / width,
                        bar_h / height))
    cax.grid(False)
    cb = fig.colorbar(image, cax=cax, format=bar_format, label=bar_label)
    if ticks:
        cb.set_ticks([t for t in ticks if norm.vmin <= t <= norm.vmax])
    cax.yaxis.set_minor_formatter(ticker.NullFormatter())
    fig.text(0.08 / width, 1 - 0.1 / height, title, fontsize=10, fontweight='bold',
             ha='left', va='top')
    add_footer(fig, sets)
    return fig


def heatmap(sets, workload, size, opts):
    """Mechanism x waiter latency, one panel per result set, log colour scale."""
    maps = [(rs.label, dist.heatmap(rs, workload, size, opts.metric)) for rs in sets]
    maps = [(n, h) for n, h in maps if h.rows]
    finite = [v for _, h in maps for row in h.cells for v in row if math.isfinite(v) and v > 0]
    if not finite:
        return None
    norm = mcolors.LogNorm(vmin=min(finite), vmax=max(max(finite), min(finite) * 1.01))
    cmap = plt.get_cmap('viridis').copy()
    cmap.set_bad('0.93')
    stat = 'mean' if opts.metric == 'mean' else 'p50'
    title = f'{workload} {fmt.size_text(size)}: {stat} one-way latency, mechanism x waiter'
    fig = heatmap_figure(maps, title, fmt.short_ns, norm, cmap, f'{stat} one-way latency',
                         ticker.FuncFormatter(ns_tick), sets)
    desc = (f'{title}; grey: not run. Lowest {fmt.short_ns(min(finite))}, highest '
            f'{fmt.short_ns(max(finite))}.')
    stem = f'heatmap_{stat}_{fmt.size_text(size).replace(" ", "")}'
    return save(fig, Chart(f'Mechanism x waiter, {stat} latency at {fmt.size_text(size)}',
                           stem, desc), opts)


def ratio_heatmap(sets, workload, size, opts):
    """NEW / BASE latency per mechanism x waiter when exactly two runs are compared."""
    if len(sets) != 2:
        return None
    h = dist.ratio_heatmap(sets[0], sets[1], workload, size, opts.metric)
    finite = [v for row in h.cells for v in row if math.isfinite(v) and v > 0]
    if not finite:
        return None
    span = max(1.25, max(max(finite), 1 / min(finite)))
    norm = mcolors.LogNorm(vmin=1 / span, vmax=span)
    cmap = plt.get_cmap('RdBu_r').copy()
    cmap.set_bad('0.93')
    new, base = sets[1].label, sets[0].label
    title = (f'{workload} {fmt.size_text(size)}: {new} / {base} latency '
             '(red: slower, blue: faster)')
    fig = heatmap_figure([('', h)], title, lambda v: f'{v:.2f}x', norm, cmap,
                         f'{new} / {base}', ticker.FuncFormatter(lambda v, _: f'{v:.3g}x'),
                         sets, RATIO_TICKS)
    worst = max((v, r, c) for r, row in zip(h.rows, h.cells) for c, v in zip(h.cols, row)
                if math.isfinite(v))
    desc = (f'{title}. Largest ratio: {worst[1]} / {worst[2]} {worst[0]:.2f}x. A single run '
            'per side: differences of tens of percent can be noise between runs (use '
            'ipcreport compare with rounds to judge).')
    stem = f'ratio_{fmt.size_text(size).replace(" ", "")}'
    return save(fig, Chart(f'Ratio {new} / {base} at {fmt.size_text(size)}', stem, desc), opts)


def fan_scaling(sets, opts):
    """Fan-in and fan-out throughput against the number of peers, lines joined across the
    peer counts (from one sweep or from several folders). None with a single peer count."""
    fans = compute.fans_of(sets)
    by_workload = compute.fan_series(sets, opts.metric)
    if len(fans) < 2 or not by_workload:
        return None
    fig, axes = plt.subplots(1, len(by_workload), figsize=(6.4, 3.4), sharey=True,
                             squeeze=False)
    seen = {}
    sizes = {s.name.split(', ')[-1] for ss in by_workload.values() for s in ss}
    for ax, (workload, series) in zip(axes.flat, by_workload.items()):
        ax.set_title(workload, fontweight='bold')
        for s in series:
            if len(s.x) < 2:
                continue
            colour = BACKEND_COLOUR.get(s.backend, 'k')
            marker = BACKEND_MARKER.get(s.backend, '*')
            # a backend's waiters (and sizes) apart by dash
            dash = DASHES[sorted({(x.sync, x.name) for x in series if x.backend == s.backend})
                          .index((s.sync, s.name)) % len(DASHES)]
            ax.plot(s.x, s.y['bytes_per_second'], color=colour, marker=marker, ls=dash, ms=4,
                    lw=1.2)
            seen.setdefault(s.name if len(sizes) > 1 else s.name.split(',')[0],
                            (colour, marker, dash))
        ax.set_xscale('log', base=2)
        ax.set_xticks(fans, [str(f) for f in fans])
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_xlabel('peers (--fan)')
        ax.set_yscale('log')
        log_ticks(ax.yaxis, rate_tick)
    axes.flat[0].set_ylabel('payload throughput')
    fig.suptitle('Fan-in / fan-out: throughput as peers are added', x=0.0, ha='left',
                 fontsize=10, fontweight='bold')
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    handles = [plt.Line2D([], [], color=c, marker=m, ls=d, label=n)
               for n, (c, m, d) in seen.items()]
    legend = fig.legend(handles=handles, loc='upper center', bbox_to_anchor=(0.5, 0.0),
                        ncol=3, frameon=False)
    add_footer(fig, sets, below=legend)
    desc = (f'fanin and fanout payload throughput against the number of peers '
            f'({", ".join(map(str, fans))}), one line per mechanism and waiter, joined across '
            'the peer counts.')
    return save(fig, Chart('Fan-in / fan-out scaling', 'fan_scaling', desc), opts)
