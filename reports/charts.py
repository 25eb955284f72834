"""Draws the charts (PNG and SVG) from what compute.py returns. Deterministic: a fixed SVG hash
salt, no dates in the metadata, one bundled font, glyphs as paths; same input, same bytes.
"""
from __future__ import annotations

import math
import os
import re

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib import colors as mcolors, ticker  # noqa: E402

from reports import compute, fmt  # noqa: E402

RC = {'svg.hashsalt': 'ipcbench', 'svg.fonttype': 'path', 'font.family': 'DejaVu Sans',
      'font.size': 8, 'axes.titlesize': 9, 'axes.grid': True, 'grid.alpha': 0.3,
      'grid.linewidth': 0.5, 'legend.fontsize': 7, 'figure.dpi': 100, 'path.simplify': False}
SVG_META = {'Date': None, 'Creator': 'ipcbench ipcreport', 'Format': None, 'Type': None}
PNG_META = {'Software': 'ipcbench ipcreport'}
STYLES = ('-', '--', ':', '-.')       # one per result set
MARKERS = ('o', 's', '^', 'D')
CDF_TICKS = ((0.5, '50%'), (0.9, '90%'), (0.99, '99%'), (0.999, '99.9%'), (1.0, 'max'))


def _nines(q: float) -> float:
    """Position of a quantile on the CDF's y axis: 50% 90% 99% 99.9% evenly, max after."""
    return 4.0 if q >= 1.0 else -math.log10(1.0 - q)


def _ns_tick(v, _pos=None):
    return fmt.short_ns(v)


def _rate_tick(v, _pos=None):
    return fmt.short_rate(v)


def footer(sets) -> str:
    """CPU model, kernel and date of each run, one line per result set."""
    lines = []
    for rs in sets:
        c = rs.context
        text = (f'{c.get("cpu_model", "?")}, {c.get("num_cpus", "?")} CPUs; '
                f'{c.get("kernel", "?")}; run {c.get("date", "?")}; '
                f'placement {"/".join(p.get("name", "?") for p in c.get("placements", [])) or "?"}; '
                f'build {c.get("build_type", "?")}')
        lines.append(f'{rs.label}: {text}' if len(sets) > 1 else text)
    return '\n'.join(lines)


class Palette:
    """Fixed colour per line name (sync variant) and line style per result set."""

    def __init__(self, names, labels, sets):
        ordered = sorted(set(names), key=lambda n: (compute.sync_rank(n.split(' ')[0]), n))
        # tab20's strong colours first, then their light partners: neighbours stay distinct.
        tab20 = plt.get_cmap('tab20')
        order = [tab20(i) for i in range(0, 20, 2)] + [tab20(i) for i in range(1, 20, 2)]
        self.colour = {n: order[i % 20] for i, n in enumerate(ordered)}
        self.labels = list(dict.fromkeys(labels))       # those in this chart, for the legend
        self.order = [rs.label for rs in sets]          # all sets: same style on every chart

    def style(self, label):
        i = self.order.index(label) % len(STYLES)
        return STYLES[i], MARKERS[i]

    def handles(self):
        hs = [plt.Line2D([], [], color=c, marker='o', ms=4, lw=1.5, label=n)
              for n, c in self.colour.items()]
        if len(self.order) > 1:
            hs += [plt.Line2D([], [], color='0.2', ls=self.style(lab)[0],
                              marker=self.style(lab)[1], ms=4, label=lab) for lab in self.labels]
        return hs


def _grid(n: int, title: str, sets):
    cols = min(4, n)
    rows = math.ceil(n / cols)
    legend_w = 1.9
    width, height = max(3.1 * cols + legend_w, 7.0), 2.5 * rows + 0.9
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    note = footer(sets)
    fig.text(0.005, 0.005, note, fontsize=6, color='0.35', ha='left', va='bottom')
    bottom = (0.25 + 0.12 * note.count('\n')) / height
    # Laid out in _finish, once the tick labels exist.
    fig.ipcb_rect = (0, bottom, 1 - legend_w / width, 1 - 0.35 / height)
    return fig, axes.flat, legend_w / width


def _finish(fig, palette, legend_frac, path_stem):
    fig.tight_layout(rect=fig.ipcb_rect)
    fig.legend(handles=palette.handles(), loc='upper left', frameon=False,
               bbox_to_anchor=(1 - legend_frac + 0.005, 0.93))
    return save(fig, path_stem)


def save(fig, path_stem: str) -> list:
    """Writes PATH_STEM.png and PATH_STEM.svg; returns the file names."""
    fig.savefig(path_stem + '.svg', format='svg', metadata=SVG_META)
    fig.savefig(path_stem + '.png', format='png', dpi=110, metadata=PNG_META)
    plt.close(fig)
    return [os.path.basename(path_stem) + ext for ext in ('.png', '.svg')]


def _multi_size(by_backend):
    """Only the lines with two sizes or more (a lone point says nothing about size)."""
    kept = {b: [s for s in ss if len(s.x) > 1] for b, ss in by_backend.items()}
    return {b: ss for b, ss in kept.items() if ss}


def throughput_at_size(sets, workload, by_backend, out_dir) -> list:
    """When every line has one size: a bar per mechanism / waiter (one colour per set)."""
    rows = [(f'{s.backend} / {s.name}', s) for b in sorted(by_backend, key=compute.backend_rank)
            for s in by_backend[b]]
    names = list(dict.fromkeys(n for n, _ in rows))
    labels = list(dict.fromkeys(s.label for _, s in rows))
    sizes = sorted({x for _, s in rows for x in s.x})
    note = footer(sets)
    height = 0.22 * len(names) * max(1, len(labels) * 0.7) + 1.3 + 0.1 * note.count('\n')
    fig, ax = plt.subplots(figsize=(7.5, height))
    bar = 0.8 / len(labels)
    cmap = plt.get_cmap('tab10')
    for i, lab in enumerate(labels):
        ys = [names.index(n) + (i - (len(labels) - 1) / 2) * bar for n, s in rows if s.label == lab]
        vs = [s.y['bytes_per_second'][0] for n, s in rows if s.label == lab]
        ax.barh(ys, vs, height=bar, color=cmap(i % 10), label=lab)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(_rate_tick))
    ax.grid(axis='y', visible=False)
    if len(labels) > 1:
        ax.legend(loc='lower right')
    size_names = ', '.join(fmt.size_text(x) for x in sizes)
    ax.set_title(f'{workload} {size_names}: payload throughput', fontsize=10)
    fig.text(0.005, 0.005, note, fontsize=6, color='0.35', ha='left', va='bottom')
    fig.tight_layout(rect=(0, (0.2 + 0.1 * note.count('\n')) / height, 1, 1))
    stem = os.path.join(out_dir, f'throughput_{size_names.replace(" ", "").replace(",", "_")}')
    return save(fig, stem)


def _size_axis(ax, sizes):
    ax.set_xscale('log', base=2)
    ax.xaxis.set_major_locator(ticker.FixedLocator(sizes))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([fmt.size_text(s) for s in sizes]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    if len(sizes) == 1:
        ax.set_xlim(sizes[0] / 2, sizes[0] * 2)


def _log_ticks(axis, formatter):
    """Labelled ticks on a log axis whatever its span: 1-2-5 within a decade or so, 1-3 over a
    few, decades beyond (matplotlib labels only decades, which may leave none in view)."""
    lo, hi = axis.get_view_interval()
    span = math.log10(hi / lo) if lo > 0 and hi > lo else 10
    subs = (range(1, 10) if span <= 0.7 else (1, 2, 5) if span <= 1.6 else
            (1, 3) if span <= 3.2 else (1,))
    axis.set_major_locator(ticker.LogLocator(base=10, subs=tuple(subs), numticks=30))
    axis.set_major_formatter(ticker.FuncFormatter(formatter))
    axis.set_minor_formatter(ticker.NullFormatter())


def _panels(by_backend, sets, title, draw, stem, finish, floors=None):
    """One panel per backend; `floors` (backend -> (sizes, values)) adds its physical floor as a
    dotted black line."""
    backends = sorted(by_backend, key=compute.backend_rank)
    pal = Palette([s.name for b in backends for s in by_backend[b]],
                  [s.label for b in backends for s in by_backend[b]], sets)
    fig, axes, legend_frac = _grid(len(backends), title, sets)
    for ax, backend in zip(axes, backends):
        ax.set_title(backend)
        for s in by_backend[backend]:
            ls, marker = pal.style(s.label)
            draw(ax, s, dict(color=pal.colour[s.name], ls=ls, marker=marker, ms=3, lw=1.2))
        if floors and backend in floors:
            xs, ys = floors[backend]
            ax.plot(xs, ys, color='black', ls=':', lw=1)
            ax.annotate('floor', (xs[-1], ys[-1]), fontsize=6, xytext=(2, 0),
                        textcoords='offset points', va='center')
        finish(ax)
    return _finish(fig, pal, legend_frac, stem)


def latency_vs_size(sets, workload, out_dir) -> list:
    """Per mechanism: p50 latency against payload size (log-log), shaded up to p99."""
    by_backend = _multi_size(compute.size_series(sets, workload,
                                                 ('latency_p50_ns', 'latency_p99_ns')))
    if not by_backend:
        return []  # one size only: the CDF and the heatmap show it
    sizes = compute.sizes_of(sets, workload)

    def draw(ax, s, style):
        p50, p99 = s.y['latency_p50_ns'], s.y['latency_p99_ns']
        ax.plot(s.x, p50, **style)
        ax.fill_between(s.x, p50, p99, color=style['color'], alpha=0.15, lw=0)

    def finish(ax):
        _size_axis(ax, sizes)
        ax.set_yscale('log')
        _log_ticks(ax.yaxis, _ns_tick)
    title = f'{workload}: one-way latency vs payload size (line p50, band to p99; dotted: floor)'
    return _panels(by_backend, sets, title, draw, os.path.join(out_dir, 'latency_vs_size'),
                   finish, compute.floor_lines(sets, workload, 'floor_ns'))


def throughput_vs_size(sets, workload, out_dir) -> list:
    """Per mechanism: payload throughput against payload size."""
    all_series = compute.size_series(sets, workload, ('bytes_per_second',))
    by_backend = _multi_size(all_series)
    if not by_backend:
        return throughput_at_size(sets, workload, all_series, out_dir) if all_series else []
    sizes = compute.sizes_of(sets, workload)

    def draw(ax, s, style):
        ax.plot(s.x, s.y['bytes_per_second'], **style)

    def finish(ax):
        _size_axis(ax, sizes)
        ax.set_yscale('log')
        _log_ticks(ax.yaxis, _rate_tick)
    title = f'{workload}: payload throughput vs payload size (dotted: ceiling)'
    return _panels(by_backend, sets, title, draw, os.path.join(out_dir, 'throughput_vs_size'),
                   finish, compute.floor_lines(sets, workload, 'ceiling_bytes_per_second'))


def latency_cdf(sets, workload, size, out_dir) -> list:
    """Per mechanism: the latency distribution at one size, through p50 ... p99.9 and max."""
    by_backend = compute.cdf_series(sets, workload, size)
    if not by_backend:
        return []

    def draw(ax, s, style):
        ax.plot(s.y['latency'], [_nines(q) for q in s.x], **style)

    def finish(ax):
        ax.set_xscale('log')
        _log_ticks(ax.xaxis, _ns_tick)
        ax.set_yticks([_nines(q) for q, _ in CDF_TICKS], [t for _, t in CDF_TICKS])
        ax.set_ylim(0.1, 4.3)
        ax.set_xlabel('one-way latency')
    title = f'{workload} {fmt.size_text(size)}: one-way latency distribution (CDF)'
    stem = os.path.join(out_dir, f'latency_cdf_{fmt.size_text(size).replace(" ", "")}')
    return _panels(by_backend, sets, title, draw, stem, finish)


def heatmap(sets, workload, size, out_dir) -> list:
    """Mechanism x waiter p50 latency, one panel per result set, log colour scale."""
    maps = [(rs, compute.heatmap(rs, workload, size)) for rs in sets]
    maps = [(rs, h) for rs, h in maps if h.rows]
    if not maps:
        return []
    finite = [v for _, h in maps for row in h.cells for v in row if math.isfinite(v) and v > 0]
    if not finite:
        return []                   # nothing a log colour scale can show
    norm = mcolors.LogNorm(vmin=min(finite), vmax=max(max(finite), min(finite) * 1.01))
    width = sum(0.62 * len(h.cols) + 1.5 for _, h in maps) + 1.1
    height = 0.3 * max(len(h.rows) for _, h in maps) + 1.6
    fig, axes = plt.subplots(1, len(maps), figsize=(width, height), squeeze=False)
    cmap = plt.get_cmap('viridis').copy()
    cmap.set_bad('0.93')
    for ax, (rs, h) in zip(axes.flat, maps):
        image = ax.imshow(h.cells, cmap=cmap, norm=norm, aspect='auto')
        ax.set_xticks(range(len(h.cols)), h.cols, rotation=45, ha='right')
        ax.set_yticks(range(len(h.rows)), h.rows)
        ax.grid(False)
        for i, row in enumerate(h.cells):
            for j, v in enumerate(row):
                if math.isfinite(v):
                    light = norm(v) < 0.55
                    ax.text(j, i, _ns_tick(v), ha='center', va='center', fontsize=6,
                            color='white' if light else 'black')
        if len(maps) > 1:
            ax.set_title(rs.label)
    fig.suptitle(f'{workload} {fmt.size_text(size)}: p50 one-way latency, mechanism x waiter',
                 fontsize=10)
    note = footer(sets)
    fig.text(0.005, 0.005, note, fontsize=6, color='0.35', ha='left', va='bottom')
    left, right = 1.4 / width, 1 - 1.1 / width
    bottom, top = (0.8 + 0.1 * note.count('\n')) / height, 1 - 0.45 / height
    axis_w = (right - left) * width / len(maps)
    fig.subplots_adjust(left=left, right=right, top=top, bottom=bottom,
                        wspace=1.5 / max(axis_w - 1.5, 1.0))  # room for the row names
    bar = fig.add_axes((right + 0.2 / width, bottom, 0.12 / width, top - bottom))
    fig.colorbar(image, cax=bar, format=ticker.FuncFormatter(_ns_tick),
                 label='p50 one-way latency')
    stem = os.path.join(out_dir, f'heatmap_p50_{fmt.size_text(size).replace(" ", "")}')
    return save(fig, stem)


def fan_scaling(sets, out_dir) -> list:
    """Fan-in and fan-out: throughput against the number of peers (one point per run's fan)."""
    by_workload = compute.fan_series(sets)
    if not by_workload:
        return []
    pal = Palette([s.name for ss in by_workload.values() for s in ss],
                  [s.label for ss in by_workload.values() for s in ss], sets)
    fig, axes, legend_frac = _grid(len(by_workload), 'fan-in / fan-out: throughput vs peers',
                                   sets)
    fans = sorted({f for ss in by_workload.values() for s in ss for f in s.x})
    for ax, (workload, series) in zip(axes, by_workload.items()):
        ax.set_title(workload)
        for s in series:
            ls, marker = pal.style(s.label)
            ax.plot(s.x, s.y['bytes_per_second'], color=pal.colour[s.name], ls=ls,
                    marker=marker, ms=4, lw=1.2)
        ax.set_xticks(fans, [str(f) for f in fans])
        ax.set_xlim(min(fans) - 0.5, max(fans) + 0.5)
        ax.set_xlabel('peers (--fan)')
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_rate_tick))
        ax.set_ylim(bottom=0)
    return _finish(fig, pal, legend_frac, os.path.join(out_dir, 'fan_scaling'))


CHART_FILE = re.compile(r'^(latency_vs_size|throughput_vs_size|throughput_[0-9A-Za-z_]+|'
                        r'latency_cdf_[0-9A-Za-z]+|heatmap_p50_[0-9A-Za-z]+|fan_scaling)'
                        r'\.(png|svg)$')


def remove_old(out_dir):
    """Removes charts of an earlier report in out_dir (only our own file names), so a folder
    never shows a chart its data no longer makes."""
    for name in os.listdir(out_dir):
        if CHART_FILE.match(name):
            os.remove(os.path.join(out_dir, name))


def draw_all(sets, out_dir, size=None) -> list:
    """Every chart the data allows; returns [(title, [png, svg])] in report order."""
    with plt.rc_context(RC):
        lat_w = next((w for w in ('pingpong', 'stream')
                      if compute.sizes_of(sets, w)), None)
        charts = []
        if compute.sizes_of(sets, 'pingpong'):
            charts.append(('Latency vs payload size', latency_vs_size(sets, 'pingpong', out_dir)))
        if compute.sizes_of(sets, 'stream'):
            files = throughput_vs_size(sets, 'stream', out_dir)
            single = files and not files[0].startswith('throughput_vs_size')
            charts.append(('Throughput at ' + ', '.join(
                fmt.size_text(x) for x in compute.sizes_of(sets, 'stream')) if single
                else 'Throughput vs payload size', files))
        if lat_w:
            at = size if size in compute.sizes_of(sets, lat_w) else compute.sizes_of(sets, lat_w)[0]
            charts.append((f'Latency distribution at {fmt.size_text(at)}',
                           latency_cdf(sets, lat_w, at, out_dir)))
            charts.append((f'Mechanism x waiter, p50 latency at {fmt.size_text(at)}',
                           heatmap(sets, lat_w, at, out_dir)))
        charts.append(('Fan-in / fan-out scaling', fan_scaling(sets, out_dir)))
    return [(t, files) for t, files in charts if files]
