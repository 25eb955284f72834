"""The trend charts (what trend.py computes): one panel per benchmark, the runs of one
environment in time order on x, the metric on y, each run's noise band shaded behind it (the
95% prediction interval from the runs before), and the runs the gate flagged ringed (red: a
regression, green: an improvement) with the change. Pages of at most PANELS panels.
"""
from __future__ import annotations

import math
import os
import re

import matplotlib.pyplot as plt
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from reports import fmt, metrics as mx
from reports.chartkit import RC, WARN, Chart, Options, save, wrapped

PANELS, COLUMNS = 24, 4
TREND_FILE = re.compile(r'^trend_[0-9A-Za-z_]+\.(png|svg)$')
VALUE, BAND, GOOD = '#1f77b4', '#1f77b4', '#2ca02c'


def remove_old(out_dir: str) -> None:
    """Removes trend charts of an earlier call (only our own file names)."""
    for name in os.listdir(out_dir):
        if TREND_FILE.match(name):
            os.remove(os.path.join(out_dir, name))


def _tick(metric: str):
    if metric.endswith('_per_second') and metric.startswith('bytes'):
        return lambda v, _p=None: fmt.short_rate(v)
    if metric.endswith(('_ns', '_ns_per_msg')) or metric in ('real_time', 'cpu_time',
                                                             mx.MEDIAN, mx.MEAN):
        return lambda v, _p=None: fmt.short_ns(v)
    return lambda v, _p=None: fmt.plain_number(v)


def _limits(points) -> tuple:
    """y limits from the values, with bands shown only as far as 2x beyond them (a band
    from two runs can be very wide)."""
    vals = [p.value for p in points]
    lo, hi = min(vals), max(vals)
    edges = [e for p in points if p.band for e in (p.band[0], p.band[2])
             if lo / 2 <= e <= hi * 2]
    lo, hi = min([lo] + edges), max([hi] + edges)
    pad = (hi - lo) * 0.12 or abs(hi) * 0.1 or 1.0
    return max(0.0, lo - pad), hi + pad


def _panel(ax, t, metric: str) -> None:
    pts = t.points
    xs = list(range(len(pts)))
    banded = [(x, p.band) for x, p in zip(xs, pts) if p.band]
    for x, (blo, mid, bhi) in banded:
        ax.fill_between([x - 0.4, x + 0.4], [blo, blo], [bhi, bhi], color=BAND, alpha=0.15,
                        linewidth=0)
        ax.plot([x - 0.4, x + 0.4], [mid, mid], color=BAND, linestyle='--', linewidth=0.7)
    ax.errorbar(xs, [p.value for p in pts],
                yerr=[[p.value - p.low for p in pts], [p.high - p.value for p in pts]],
                color=VALUE, marker='o', markersize=3, linewidth=1, elinewidth=0.6,
                ecolor='0.55', capsize=1.5)
    for x, p in zip(xs, pts):
        if p.verdict in ('regression', 'improvement'):
            colour = WARN if p.verdict == 'regression' else GOOD
            ax.plot([x], [p.value], marker='o', markersize=9, markerfacecolor='none',
                    markeredgecolor=colour, markeredgewidth=1.5)
            ax.annotate(fmt.change_text(p.change), (x, p.value), textcoords='offset points',
                        xytext=(0, 7), ha='center', fontsize=6.5, color=colour,
                        fontweight='bold')
    ax.set_ylim(*_limits(pts))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(_tick(metric)))
    step = max(1, math.ceil(len(pts) / 6))
    ticks = xs[::step]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f'#{pts[i].run_id}\n{(pts[i].commit or "?")[:7]}' for i in ticks],
                       fontsize=6)
    ax.set_xlim(-0.6, len(pts) - 0.4)
    ax.set_title(t.benchmark, fontsize=7.5)


def _legend(fig) -> None:
    handles = [Line2D([], [], color=VALUE, marker='o', markersize=3, label='run (median; bar: '
                      'lowest to highest round or repetition)'),
               Patch(color=BAND, alpha=0.15, label='noise band: 95% of runs land here if '
                     'nothing changed'),
               Line2D([], [], color=BAND, linestyle='--', label='centre of the runs before'),
               Line2D([], [], marker='o', markersize=8, markerfacecolor='none', linestyle='',
                      markeredgecolor=WARN, label='regression (the gate, when it was added)'),
               Line2D([], [], marker='o', markersize=8, markerfacecolor='none', linestyle='',
                      markeredgecolor=GOOD, label='improvement')]
    fig.legend(handles=handles, loc='upper center', bbox_to_anchor=(0.5, 1.0), ncol=3,
               frameon=False, fontsize=7)


def _footer(runs, key: str, window: int, calibrated: bool) -> str:
    c = runs[-1].context if runs else {}
    spread = 'the calibrated between-round spread' if calibrated else "those runs' own spread"
    return (f'{c.get("cpu_model", "?")}, {c.get("num_cpus", "?")} CPUs; {c.get("kernel", "?")}; '
            f'build {c.get("build_type", "?")}; environment {key}; {len(runs)} runs from '
            f'{runs[0].time if runs else "?"} to {runs[-1].time if runs else "?"}.\n'
            f'Band of a run: from the {window} runs before it (at least 2), {spread}. '
            'x: run id and commit.')


def draw(trends: list, runs: list, key: str, metric: str, window: int, calibrated: bool,
         opts: Options) -> list:
    """Writes trend_<metric>[_<page>].png/.svg into opts.out_dir; returns [Chart]."""
    made = []
    pages = [trends[i:i + PANELS] for i in range(0, len(trends), PANELS)]
    safe = re.sub(r'[^0-9A-Za-z_]', '_', metric)
    with plt.rc_context(RC):
        for n, page in enumerate(pages, 1):
            cols = min(COLUMNS, len(page))
            rows = math.ceil(len(page) / cols)
            fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols, 1.9 * rows + 0.9),
                                     squeeze=False)
            for ax, t in zip(axes.flat, page):
                _panel(ax, t, metric)
            for ax in list(axes.flat)[len(page):]:
                ax.set_visible(False)
            _legend(fig)
            flagged = [f'{t.benchmark} (run #{p.run_id}, {fmt.change_text(p.change)})'
                       for t in page for p in t.flagged]
            fig.suptitle(f'History of {mx.describe(metric)}', y=1.05, fontsize=9)
            fig.tight_layout(rect=(0, 0, 1, 0.93))
            width = 2.9 * cols
            fig.text(0.0, -0.01, wrapped(_footer(runs, key, window, calibrated), width, 6),
                     fontsize=6, color='0.35', ha='left', va='top')
            stem = f'trend_{safe}' + (f'_{n}' if len(pages) > 1 else '')
            desc = (f'{mx.describe(metric)} of {len(page)} benchmarks over {len(runs)} runs of '
                    f'environment {key}, each run with its noise band; the gate flagged '
                    + (', '.join(flagged) if flagged else 'no regression') + '.')
            made.append(save(fig, Chart(f'Trend of {metric} ({n}/{len(pages)})', stem, desc),
                             opts))
    return made
