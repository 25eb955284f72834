"""The rate workload's chart: latency percentiles (coordinated omission corrected, and the
uncorrected p99) against offered load, one panel per mechanism, the saturation point marked."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt

from reports import rate
from reports.chartkit import (BACKEND_COLOUR, Chart, add_footer, log_ticks, ns_tick, save,
                              wrapped)

STEM = 'rate_latency'
LOOK = {'p50': ('#2ca02c', 'o', '-'), 'p99': ('#d62728', 's', '-'),
        'p99.9': ('#9467bd', '^', '-'), 'p99 uncorrected': ('#d62728', 's', ':')}


def _rate_tick(v, _pos=None):
    return rate.rate_label(v)


def latency_vs_load(sets, opts):
    """None when no rate benchmark ran (or every sweep has a single rate)."""
    sweeps = [s for s in rate.sweeps(sets, opts.metric) if len(s.rates) >= 2]
    if not sweeps:
        return None
    cols = 2 if len(sweeps) > 1 else 1
    rows = math.ceil(len(sweeps) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.4, 2.3 * rows + 0.6), squeeze=False,
                             sharey=True)
    sat_text = []
    for ax, s in zip(axes.flat, sweeps):
        curves = [(t, s.column(m)) for m, t in rate.PERCENTILES[:3]]
        curves.append(('p99 uncorrected', s.column(rate.UNCORRECTED_P99)))
        for t, ys in curves:
            colour, marker, dash = LOOK[t]
            ax.plot(s.rates, ys, color=colour, marker=marker, ls=dash, ms=3, lw=1.1, label=t)
        sat = s.saturated_at()
        if sat:
            ax.axvline(sat, color=BACKEND_COLOUR.get(s.backend, 'k'), ls='--', lw=1)
            ax.annotate(f'saturated\n{rate.rate_label(sat)}/s', (sat, 1), xycoords=(
                'data', 'axes fraction'), xytext=(-3, -3), textcoords='offset points',
                ha='right', va='top', fontsize=6.5)
        sat_text.append(f'{s.name}: ' + (f'saturated at {rate.rate_label(sat)}/s' if sat
                                          else 'not saturated'))
        ax.set_title(wrapped(s.name, 3.0), fontweight='bold')
        ax.set_xscale('log')
        ax.set_yscale('log')
        log_ticks(ax.xaxis, _rate_tick, most=8)
        log_ticks(ax.yaxis, ns_tick)
        ax.set_xlabel('offered messages / s')
    for ax in list(axes.flat)[len(sweeps):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel('one-way latency')
    fig.suptitle('Latency under offered load (open loop, from the intended send time)', x=0.0,
                 ha='left', fontsize=10, fontweight='bold')
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    legend = fig.legend(handles, labels, loc='upper center', bbox_to_anchor=(0.5, 0.0), ncol=4,
                        frameon=False)
    add_footer(fig, sets, below=legend)
    desc = ('One-way latency percentiles (p50, p99, p99.9, corrected for coordinated omission) '
            'and the uncorrected p99 (dotted) against the offered rate, one panel per '
            'mechanism; the dashed line marks the saturation point (from there on every offered rate '
            'was achieved below 95%). '
            + '; '.join(sat_text) + '.')
    return save(fig, Chart('Latency under offered load', STEM, desc), opts)
