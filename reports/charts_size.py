"""Charts against payload size, as small multiples (one panel per backend) that share both
axes, so a panel's height means the same in every panel; each waiter keeps one colour, marker
and line style everywhere. Also the bar chart of a run with one stream size.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt

from reports import compute, fmt, metrics as mx
from reports.chartkit import (DASHES, Chart, add_footer, log_ticks, ns_tick, rate_tick, save,
                              size_axis, sync_style)


class Looks:
    """Line looks: colour and marker by waiter, hollow markers for in place, a dash pattern
    per (result set, placement) when there are several; and the legend that explains them."""

    def __init__(self, series, sets):
        self.syncs = sorted({s.sync for s in series}, key=compute.sync_rank)
        self.inplace = any('(inplace)' in s.name for s in series)
        self.groups = list(dict.fromkeys((s.label, _place(s.name)) for s in series))
        self.multi_set = len(sets) > 1

    def of(self, s) -> dict:
        colour, marker, dash = sync_style(s.sync, self.syncs.index(s.sync))
        if len(self.groups) > 1:
            dash = DASHES[self.groups.index((s.label, _place(s.name))) % len(DASHES)]
        inplace = '(inplace)' in s.name
        return dict(color=colour, marker=marker, ls=dash, ms=3.5, lw=0.8 if inplace else 1.3,
                    mfc='white' if inplace else colour)

    def handles(self) -> list:
        hs = []
        for i, sync in enumerate(self.syncs):
            colour, marker, dash = sync_style(sync, i)
            hs.append(plt.Line2D([], [], color=colour, marker=marker, ms=4,
                                 ls=dash if len(self.groups) < 2 else '-', label=sync))
        if self.inplace:
            hs.append(plt.Line2D([], [], color='0.3', marker='o', mfc='white', lw=0.8,
                                 label='hollow, thin: in place'))
        if len(self.groups) > 1:
            for i, (label, place) in enumerate(self.groups):
                name = ', '.join(x for x in (label if self.multi_set else '', place) if x)
                hs.append(plt.Line2D([], [], color='0.3', ls=DASHES[i % len(DASHES)],
                                     label=name or '?'))
        return hs


def _place(name: str) -> str:
    return name.split('@')[1] if '@' in name else ''


def _multi_size(by_backend):
    """Only the lines with two sizes or more (a lone point says nothing about size)."""
    kept = {b: [s for s in ss if len(s.x) > 1] for b, ss in by_backend.items()}
    return {b: ss for b, ss in kept.items() if ss}


def _grid(n):
    cols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4
    rows = math.ceil(n / cols)
    width = 6.4 if n > 1 else 5.0
    panel_h = 1.7 if cols >= 3 else 2.1 if n > 1 else 3.0
    fig, axes = plt.subplots(rows, cols, figsize=(width, panel_h * rows + 0.6), sharex=True,
                             sharey=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def _panels(sets, by_backend, draw, finish, floors, title, ylabel, extra=''):
    backends = sorted(by_backend, key=compute.backend_rank)
    looks = Looks([s for b in backends for s in by_backend[b]], sets)
    fig, axes = _grid(len(backends))
    for ax, backend in zip(axes.flat, backends):
        ax.set_title(backend, fontweight='bold')
        for s in by_backend[backend]:
            draw(ax, s, looks.of(s))
        if floors and backend in floors:
            xs, ys = floors[backend]
            ax.plot(xs, ys, color='black', ls=':', lw=1)
    finish(axes.flat[0])
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for i, ax in enumerate(axes.flat[:len(backends)]):
        # x tick labels on the lowest visible panel of each column
        below = i + axes.shape[1]
        if below < len(backends):
            ax.tick_params(labelbottom=False)
        else:
            ax.tick_params(labelbottom=True)
    fig.suptitle(title, x=0.0, ha='left', fontsize=10, fontweight='bold')
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    handles = looks.handles()
    if floors:
        handles.append(plt.Line2D([], [], color='black', ls=':', label='physical floor / '
                                  'ceiling'))
    legend = fig.legend(handles=handles, loc='upper center', bbox_to_anchor=(0.5, 0.0),
                        ncol=min(6, len(handles)), frameon=False)
    add_footer(fig, sets, extra, below=legend)
    return fig


def latency_vs_size(sets, workload, opts):
    """Per backend: one-way latency against payload size (log-log), line p50 (or mean),
    shaded up to p99; only lines with two sizes or more."""
    lat = mx.latency(opts.metric)
    by_backend = _multi_size(compute.size_series(sets, workload, (lat, 'latency_p99_ns'),
                                                 opts.metric))
    if not by_backend:
        return None
    sizes = sorted({x for ss in by_backend.values() for s in ss for x in s.x})

    def draw(ax, s, style):
        ax.plot(s.x, s.y[lat], **style)
        ax.fill_between(s.x, s.y[lat], s.y['latency_p99_ns'], color=style['color'],
                        alpha=0.12, lw=0)

    def finish(ax):
        size_axis(ax, sizes)
        ax.set_yscale('log')
        log_ticks(ax.yaxis, ns_tick, most=8)
    stat = 'mean' if opts.metric == 'mean' else 'p50'
    fig = _panels(sets, by_backend, draw, finish,
                  compute.floor_lines(sets, workload, 'floor_ns'),
                  f'{workload}: one-way latency vs payload size (line {stat}, band to p99)',
                  'one-way latency')
    names = sorted(by_backend, key=compute.backend_rank)
    desc = (f'{workload}: one-way latency ({stat}, shaded to p99) against payload size per '
            f'backend ({", ".join(names)}), panels sharing both log axes; only lines measured '
            f'at two sizes or more (sizes {", ".join(fmt.size_text(x) for x in sizes)}).')
    return save(fig, Chart('Latency vs payload size', 'latency_vs_size', desc), opts)


def throughput_vs_size(sets, workload, opts):
    """Per backend: payload throughput against payload size on shared axes; with one size
    only, a bar per mechanism / waiter instead."""
    all_series = compute.size_series(sets, workload, ('bytes_per_second',), opts.metric)
    by_backend = _multi_size(all_series)
    if not by_backend:
        return throughput_at_size(sets, workload, all_series, opts) if all_series else None
    sizes = sorted({x for ss in by_backend.values() for s in ss for x in s.x})

    def draw(ax, s, style):
        ax.plot(s.x, s.y['bytes_per_second'], **style)

    def finish(ax):
        size_axis(ax, sizes)
        ax.set_yscale('log')
        log_ticks(ax.yaxis, rate_tick, most=8)
    single = sorted(set(all_series) - set(by_backend), key=compute.backend_rank)
    fig = _panels(sets, by_backend, draw, finish,
                  compute.floor_lines(sets, workload, 'ceiling_bytes_per_second'),
                  f'{workload}: payload throughput vs payload size', 'payload throughput',
                  f'Measured at one size only (see the which-mechanism chart): '
                  f'{", ".join(single)}.' if single else '')
    best = max(((s.y['bytes_per_second'][-1], s.backend, s.name) for ss in by_backend.values()
                for s in ss if s.x[-1] == sizes[-1]), default=None)
    single = sorted(set(all_series) - set(by_backend), key=compute.backend_rank)
    desc = (f'{workload}: payload throughput against payload size, one panel per backend, all '
            'panels on the same log axes; line colour, marker and dash name the waiter.'
            + (f' Highest at {fmt.size_text(sizes[-1])}: {best[1]} / {best[2]} '
               f'{fmt.short_rate(best[0])}.' if best else '')
            + (f' Not drawn, measured at one size only: {", ".join(single)}.' if single else ''))
    return save(fig, Chart('Throughput vs payload size', 'throughput_vs_size', desc), opts)


def throughput_at_size(sets, workload, by_backend, opts):
    """When every line has one size: a bar per mechanism / waiter (one colour per set)."""
    rows = [(f'{s.backend} / {s.name}', s) for b in sorted(by_backend, key=compute.backend_rank)
            for s in by_backend[b]]
    names = list(dict.fromkeys(n for n, _ in rows))
    labels = list(dict.fromkeys(s.label for _, s in rows))
    sizes = sorted({x for _, s in rows for x in s.x})
    fig, ax = plt.subplots(figsize=(6.2, 0.2 * len(names) * max(1, len(labels) * 0.7) + 1.0))
    bar = 0.8 / len(labels)
    for i, lab in enumerate(labels):
        ys = [names.index(n) + (i - (len(labels) - 1) / 2) * bar for n, s in rows if s.label == lab]
        vs = [s.y['bytes_per_second'][0] for n, s in rows if s.label == lab]
        bars = ax.barh(ys, vs, height=bar, color=plt.get_cmap('tab10')(i % 10), label=lab)
        ax.bar_label(bars, labels=[rate_tick(v) for v in vs], padding=2, fontsize=6.5)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(rate_tick))
    ax.grid(axis='y', visible=False)
    ax.set_xlabel('payload throughput (higher is better)')
    if len(labels) > 1:
        ax.legend(loc='lower right')
    size_names = ', '.join(fmt.size_text(x) for x in sizes)
    fig.suptitle(f'{workload} {size_names}: payload throughput', x=0.0, ha='left',
                 fontsize=10, fontweight='bold')
    fig.tight_layout()
    add_footer(fig, sets)
    desc = (f'{workload} at {size_names}: payload throughput of every mechanism and waiter, '
            'one bar each (the run has one size, so no line against size).')
    stem = f'throughput_{size_names.replace(" ", "").replace(",", "_")}'
    return save(fig, Chart(f'Throughput at {size_names}', stem, desc), opts)
