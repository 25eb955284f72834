"""The charts that answer "which mechanism should I use?": the best waiter of each backend on
one shared axis per workload, latency against CPU time per message with the Pareto front, and
cross against same placement. They draw what answers.py computes.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt

from reports import answers as ans, compute, fmt
from reports.chartkit import (BACKEND_MARKER, MODE_COLOUR, VARIANT_COLOURS, WARN, Chart,
                              add_footer, log_ticks, ns_tick, only_placement_note, rate_tick,
                              save, wrapped)


def _value_text(workload, v):
    return fmt.short_ns(v) if ans.by_latency(workload) else fmt.short_rate(v)


def _panels_of(sets, workload, opts):
    """[(size, fan, {variant: [Pick best per backend]})] for sizes where 2+ backends ran,
    and the sizes left out (one backend only)."""
    panels, alone = [], []
    for (size, fan), by_variant in ans.groups(sets, workload, opts.metric).items():
        bests = {v: ans.best_per_backend(ps, workload) for v, ps in by_variant.items()}
        if max(len(b) for b in bests.values()) < 2:
            alone.append(size)
            continue
        panels.append((size, fan, bests))
    return panels, alone


def _variant_name(v, sets, n_places):
    label, place = v
    parts = ([label] if len(sets) > 1 else []) + ([place] if n_places > 1 and place else [])
    return ', '.join(parts)


def _label(p, workload) -> str:
    return f'{compute.variant(p.key, False)}  {_value_text(workload, p.value)}'


def _beyond_floor(p, floor, workload) -> bool:
    """A result better than the physical floor or ceiling measured at the start of the run."""
    return p.value < floor * 0.85 if ans.by_latency(workload) else p.value > floor * 1.15


def _draw_panel(ax, workload, size, fan, bests, sets, places, opts):
    """Draws one size; returns how many results lie beyond the floor measured in the run."""
    variants = list(bests)
    order = [p.key.backend for p in bests[variants[0]]]
    for v in variants[1:]:
        order += [p.key.backend for p in bests[v] if p.key.backend not in order]
    k = len(variants)
    step = 0.8 / k
    beyond = 0
    for i, v in enumerate(variants):
        colour = VARIANT_COLOURS[i % len(VARIANT_COLOURS)] if k > 1 else '#1f77b4'
        for p in bests[v]:
            y = order.index(p.key.backend) + (i - (k - 1) / 2) * step
            ax.errorbar([p.value], [y], xerr=[[p.value - p.low], [p.high - p.value]]
                        if p.repetitions > 1 else None, fmt='o', ms=4.5, color=colour,
                        capsize=2, lw=1)
            ax.annotate(_label(p, workload), xy=(1.0, y), xycoords=('axes fraction', 'data'),
                        xytext=(6, 0), textcoords='offset points', va='center', fontsize=6.5,
                        color=colour if k > 1 else '0.15',
                        annotation_clip=False).set_in_layout(False)  # see _layout
        floor = ans.floor_at(next(rs for rs in sets if rs.label == v[0]), workload, size, v[1])
        if floor:
            beyond += sum(_beyond_floor(p, floor[0], workload) for p in bests[v])
            line = 'black' if k == 1 else colour
            ax.axvline(floor[0], color=line, ls=':', lw=1)
            what = floor[1] if k == 1 else floor[1].split(':')[0]
            ax.annotate(f'{what} {_value_text(workload, floor[0])}', xy=(floor[0], 1.0),
                        xycoords=('data', 'axes fraction'), xytext=(2, 1 + 7 * i),
                        textcoords='offset points', fontsize=6, va='bottom', color=line)
    ax.set_yticks(range(len(order)), order)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xscale('log')
    ax.grid(axis='y', visible=False)
    what = f'{fmt.size_text(size)}' + (f', {fan} peers' if fan else '')
    ax.set_title(what, loc='left', fontweight='bold')
    return beyond


def which_mechanism(sets, workload, opts):
    """One chart per workload: the best waiter of each backend per size, on a shared log axis
    (pingpong: latency, lower is better; the others: throughput, higher is better)."""
    panels, alone = _panels_of(sets, workload, opts)
    if not panels:
        return None
    places = compute.placements(sets)
    variants = list(dict.fromkeys(v for _, _, b in panels for v in b))
    rows = max(len(next(iter(b.values()))) for _, _, b in panels)
    heights = [0.2 * rows * (0.6 + 0.4 * len(b)) + 0.5 for _, _, b in panels]
    width = 6.4
    fig, axes = plt.subplots(len(panels), 1, figsize=(width, sum(heights) + 0.3), sharex=True,
                             squeeze=False, gridspec_kw={'height_ratios': heights})
    beyond = sum(_draw_panel(ax, workload, size, fan, bests, sets, places, opts)
                 for ax, (size, fan, bests) in zip(axes.flat, panels))
    lat = ans.by_latency(workload)
    ax = axes.flat[-1]
    log_ticks(ax.xaxis, ns_tick if lat else rate_tick)
    ax.set_xlabel(('one-way latency, ' + ('mean' if opts.metric == 'mean' else 'p50')
                   + ' (lower is better)') if lat else 'payload throughput (higher is better)')
    fig.suptitle(f'Which mechanism for {workload}? The best waiter of each backend', x=0.0,
                 ha='left', fontsize=10, fontweight='bold')
    note = only_placement_note(sets, places)
    extra = (f'Sizes where only one backend ran (see the tables): '
             f'{", ".join(fmt.size_text(s) for s in alone)}. ' if alone else '')
    extra += 'Error bars: lowest to highest repetition. ' if any(
        p.repetitions > 1 for _, _, b in panels for ps in b.values() for p in ps) else ''
    if beyond:
        extra += (f'{beyond} result(s) beyond the dotted {"floor" if lat else "ceiling"}: it '
                  'was measured once at the start of the run, and on a shared or virtual '
                  'machine it moves (see "Below the physical floor" in the summary).')
    # Room on the right for the waiter and value of each dot.
    label_w = max(_text_width(fig, _label(p, workload)) for _, _, b in panels
                  for ps in b.values() for p in ps)
    _layout(fig, rect=(0, 0, 1 - (label_w + 0.15) / width, 0.97))
    if note:
        fig.text(0.0, 1.0, wrapped(note, width), color=WARN, fontsize=7, ha='left',
                 va='bottom', fontweight='bold')
    legend = None
    if len(variants) > 1:
        legend = fig.legend(handles=[
            plt.Line2D([], [], color=VARIANT_COLOURS[i % 6], marker='o', ls='',
                       label=_variant_name(v, sets, len(places)))
            for i, v in enumerate(variants)], loc='upper left', bbox_to_anchor=(0.0, 0.0),
            frameon=False, ncol=len(variants))
    add_footer(fig, sets, wrapped(extra, width, 6), below=legend)
    best_texts = '; '.join(
        f'{fmt.size_text(size)}: {ps[0].key.backend} / {ps[0].key.sync} '
        f'{_value_text(workload, ps[0].value)}' + (f' ({v[1]})' if v[1] else '')
        for size, _, b in panels for v, ps in b.items())
    desc = (f'{workload}: for each backend its best waiter, one dot per backend on a shared '
            f'log axis, per payload size; best first. Best: {best_texts}.')
    return save(fig, Chart(f'Which mechanism: {workload}', f'which_{workload}', desc,
                           [note] if note else []), opts)


def _layout(fig, rect) -> None:
    """tight_layout within `rect`, leaving the text column right of the axes (annotations
    made with set_in_layout(False)) out of it, then counting them again so that saving with a
    tight bounding box keeps them."""
    fig.tight_layout(rect=rect)
    for ax in fig.axes:
        for t in ax.texts:
            t.set_in_layout(True)


def _text_width(fig, text, size=6.5) -> float:
    t = fig.text(0, 0, text, fontsize=size)
    w = t.get_window_extent(fig.canvas.get_renderer()).width / fig.dpi
    t.remove()
    return w


def _front_label(p) -> str:
    return f'{p.key.backend}/{compute.variant(p.key, False)}'


def latency_vs_cpu(sets, workload, size, opts):
    """Latency against the CPU time both sides spend per message, one point per backend and
    waiter, the Pareto front (nothing is both faster and cheaper) joined and labelled."""
    by_variant = ans.groups(sets, workload, opts.metric).get((size, 0), {})
    panels = [(v, [p for p in ps if math.isfinite(p.cpu) and math.isfinite(p.latency)])
              for v, ps in by_variant.items()]
    panels = [(v, ps) for v, ps in panels if len(ps) >= 2]
    if not panels:
        return None
    places = compute.placements(sets)
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.4, 3.5 * len(panels) + 0.4),
                             sharex=True, sharey=True, squeeze=False)
    modes, backends = set(), []
    fronts = []
    for ax, (v, ps) in zip(axes.flat, panels):
        for p in ps:
            modes.add(p.wait_mode)
            if p.key.backend not in backends:
                backends.append(p.key.backend)
            ax.scatter([p.cpu], [p.latency], s=26, marker=BACKEND_MARKER.get(p.key.backend, '*'),
                       facecolor='none' if p.key.inplace else MODE_COLOUR.get(p.wait_mode, 'k'),
                       edgecolor=MODE_COLOUR.get(p.wait_mode, 'k'), linewidths=0.9, zorder=3)
        front = ans.pareto_front(ps)
        fronts.append(front)
        ax.plot([p.cpu for p in front], [p.latency for p in front], color='0.3', lw=1,
                ls='--', zorder=2, drawstyle='steps-post')
        # Numbers at the points, names in the empty lower right corner (lower latency than
        # CPU per message is rare: both sides spend CPU on every message).
        for j, p in enumerate(front, 1):
            ax.annotate(str(j), (p.cpu, p.latency), xytext=(3, 3), textcoords='offset points',
                        fontsize=7, fontweight='bold', zorder=4)
        ax.text(0.99, 0.03, 'Pareto front:\n' + '\n'.join(
            f'{j} {_front_label(p)}: {fmt.short_ns(p.latency)}, CPU {fmt.short_ns(p.cpu)}'
            for j, p in enumerate(front, 1)), transform=ax.transAxes, ha='right', va='bottom',
            fontsize=6.5, bbox=dict(facecolor='white', edgecolor='0.8', pad=3), zorder=5)
        name = ', '.join(x for x in (v[0] if len(sets) > 1 else '', v[1]) if x)
        ax.set_title(f'{workload} {fmt.size_text(size)}' + (f' — {name}' if name else ''),
                     loc='left', fontweight='bold')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_ylabel('one-way latency, ' + ('mean' if opts.metric == 'mean' else 'p50'))
    for ax in axes.flat:
        log_ticks(ax.xaxis, ns_tick)
        log_ticks(ax.yaxis, ns_tick)
    axes.flat[-1].set_xlabel('CPU time per message, both sides (measured + peer)')
    handles = [plt.Line2D([], [], marker='o', ls='', color=MODE_COLOUR.get(m, 'k'),
                          label=f'waits: {m}') for m in MODE_COLOUR if m in modes]
    handles += [plt.Line2D([], [], marker=BACKEND_MARKER.get(b, '*'), ls='', color='0.35',
                           mfc='none', label=b) for b in sorted(backends, key=compute.backend_rank)]
    handles.append(plt.Line2D([], [], color='0.3', ls='--', label='Pareto front'))
    legend = fig.legend(handles=handles, loc='upper center', bbox_to_anchor=(0.5, 0.0),
                        ncol=4, frameon=False)
    fig.suptitle('Latency against CPU cost per message (lower left is better)', x=0.0,
                 ha='left', fontsize=10, fontweight='bold')
    note = only_placement_note(sets, places)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    if note:
        fig.text(0.0, 1.0, wrapped(note, 6.4), color=WARN, fontsize=7, ha='left',
                 va='bottom', fontweight='bold')
    add_footer(fig, sets, 'Filled: copy; hollow: in place. Numbered: the Pareto front (no '
               'other point is both faster and cheaper).', below=legend)
    desc = (f'{workload} {fmt.size_text(size)}: one-way latency against CPU time per message '
            'of both sides, one point per backend and waiter. Pareto front: '
            + '; '.join(', '.join(f'{_front_label(p)} ({fmt.short_ns(p.latency)}, CPU '
                                  f'{fmt.short_ns(p.cpu)})' for p in f) for f in fronts)
            + '.')
    stem = f'latency_vs_cpu_{fmt.size_text(size).replace(" ", "")}'
    return save(fig, Chart(f'Latency vs CPU per message at {fmt.size_text(size)}', stem, desc,
                           [note] if note else []), opts)


def _ratio_text(cross, same, lat) -> str:
    """'cross is 7.7x slower' / 'same is 40,000x slower' (a factor of 1 or more)."""
    slower_cross = cross > same if lat else cross < same
    r = max(cross, same) / min(cross, same)
    factor = f'{r:,.0f}' if r >= 100 else f'{r:.2g}'
    return f'{"cross" if slower_cross else "same"} is {factor}x slower'


def placement(sets, workload, size, opts):
    """Cross (two CPUs) against same (one CPU) for every benchmark that ran in both: a
    dumbbell per backend / waiter, with the ratio. None when no benchmark ran in both."""
    pairs = ans.placement_pairs(sets, workload, size, opts.metric)
    if not pairs:
        return None
    lat = ans.by_latency(workload)
    n = len(pairs)
    fig, ax = plt.subplots(figsize=(6.4, 0.24 * n + 1.2))
    texts = []
    for i, (label, c, s) in enumerate(pairs):
        ax.plot([c.value, s.value], [i, i], color='0.7', lw=1.5, zorder=1)
        ax.scatter([c.value], [i], color='#1f77b4', s=22, zorder=2)
        ax.scatter([s.value], [i], color='#ff7f0e', marker='s', s=22, zorder=2)
        texts.append(f'{_value_text(workload, c.value)} vs {_value_text(workload, s.value)}: '
                     f'{_ratio_text(c.value, s.value, lat)}')
        ax.annotate(texts[-1], xy=(1.0, i), xycoords=('axes fraction', 'data'),
                    xytext=(6, 0), textcoords='offset points', va='center',
                    fontsize=6.5).set_in_layout(False)      # see _layout
    names = [(f'{lab}: ' if len(sets) > 1 else '') + c.name for lab, c, _ in pairs]
    ax.set_yticks(range(n), names)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xscale('log')
    log_ticks(ax.xaxis, ns_tick if lat else rate_tick, most=6)
    ax.grid(axis='y', visible=False)
    ax.set_xlabel('one-way latency (lower is better)' if lat else
                  'payload throughput (higher is better)')
    ax.legend(handles=[plt.Line2D([], [], color='#1f77b4', marker='o', ls='',
                                  label='cross: two CPUs'),
                       plt.Line2D([], [], color='#ff7f0e', marker='s', ls='',
                                  label='same: one CPU')],
              loc='lower left', bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    fig.suptitle(f'{workload} {fmt.size_text(size)}: where the two sides run', x=0.0,
                 ha='left', fontsize=10, fontweight='bold')
    # Wide enough for the row names, a 3-inch axis and the text column on the right.
    label_w = max(_text_width(fig, t) for t in texts)
    width = max(6.4, max(_text_width(fig, t, 7.5) for t in names) + 3.4 + label_w + 0.3)
    fig.set_size_inches(width, fig.get_size_inches()[1])
    _layout(fig, rect=(0, 0, 1 - (label_w + 0.15) / width, 1))
    add_footer(fig, sets)
    worst = max(pairs, key=lambda t: (t[1].value / t[2].value) if lat else
                (t[2].value / t[1].value))
    desc = (f'{workload} {fmt.size_text(size)}: each benchmark that ran in both placements, '
            f'cross (sides on two CPUs) against same (one CPU). Largest gap: {worst[1].name}, '
            f'cross {_value_text(workload, worst[1].value)} against same '
            f'{_value_text(workload, worst[2].value)}.')
    stem = f'placement_{workload}_{fmt.size_text(size).replace(" ", "")}'
    return save(fig, Chart(f'Placement: {workload} at {fmt.size_text(size)}', stem, desc),
                opts)

