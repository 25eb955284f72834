"""Every chart the data allows, in report order, as PNG (at --dpi) and SVG (editable text,
<title> and <desc>; deterministic: same input, same bytes). Drawing is in charts_answer.py,
charts_size.py, charts_dist.py and charts_topology.py; what they draw is computed in
compute.py, answers.py, dist.py and topology.py. Charts that the data cannot support are not
drawn; a note says why.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import re

import matplotlib.pyplot as plt

from reports import (charts_answer, charts_dist, charts_rate, charts_size, charts_topology,
                     compute, rate)
from reports.chartkit import RC, Options

CHART_FILE = re.compile(r'^(which_[a-z]+|latency_vs_cpu_[0-9A-Za-z]+|'
                        r'placement_[a-z]+_[0-9A-Za-z]+|latency_vs_size|throughput_vs_size|'
                        r'throughput_[0-9A-Za-z_]+|'
                        r'latency_cdf_[0-9A-Za-z]+|heatmap_(p50|mean)_[0-9A-Za-z]+|'
                        r'ratio_[0-9A-Za-z]+|fan_scaling|rate_latency|core_to_core_[0-9A-Za-z_]+)\.(png|svg)$')


def remove_old(out_dir):
    """Removes charts of an earlier report in out_dir (only our own file names), so a folder
    never shows a chart its data no longer makes."""
    for name in os.listdir(out_dir):
        if CHART_FILE.match(name):
            os.remove(os.path.join(out_dir, name))


def report_size(sets, workload, wanted=None):
    """The size the CDF, heatmap, CPU and placement charts use: --size when the workload ran
    it, else the smallest."""
    sizes = compute.sizes_of(sets, workload)
    return wanted if wanted in sizes else (sizes[0] if sizes else None)


def notes(sets) -> list:
    """Why a chart a reader may expect is not there."""
    out = []
    fans = compute.fans_of(sets)
    if len(fans) == 1:
        out.append(f'Fan scaling is not drawn: every fan-in / fan-out ran with {fans[0]} '
                   f'peers, and one peer count cannot show scaling. Run --fan 1, 2 and 4 '
                   'into separate folders and report them together (ipcreport report A B C '
                   '--out DIR), or sweep them in one run where ipcbench offers it.')
    if len(compute.placements(sets)) == 1:
        out.append('The placement chart is not drawn: only the '
                   f'{compute.placements(sets)[0] or "?"} placement ran (add --placement '
                   'cross,same).')
    return out


def _jobs(everything, size) -> list:
    """The charts to draw, in report order: (function, arguments before opts)."""
    sets = rate.without_rate(everything)  # rate has its own chart
    workloads = sorted({e.key.workload for rs in sets for e in rs.entries},
                       key=compute.workload_rank)
    jobs = [(charts_answer.which_mechanism, (sets, w)) for w in workloads]
    lat_w = next((w for w in ('pingpong', 'stream') if w in workloads), None)
    at = report_size(sets, lat_w, size) if lat_w else None
    if 'pingpong' in workloads:
        jobs.append((charts_answer.latency_vs_cpu,
                     (sets, 'pingpong', report_size(sets, 'pingpong', size))))
    for w in ('pingpong', 'stream'):
        if w in workloads:
            jobs.append((charts_answer.placement, (sets, w, report_size(sets, w, size))))
    if 'pingpong' in workloads:
        jobs.append((charts_size.latency_vs_size, (sets, 'pingpong')))
    if 'stream' in workloads:
        jobs.append((charts_size.throughput_vs_size, (sets, 'stream')))
    if lat_w:
        jobs.append((charts_dist.latency_cdf, (sets, lat_w, at)))
        jobs.append((charts_dist.heatmap, (sets, lat_w, at)))
        jobs.append((charts_dist.ratio_heatmap, (sets, lat_w, at)))
    jobs.append((charts_dist.fan_scaling, (sets,)))
    jobs.append((charts_rate.latency_vs_load, (everything,)))
    jobs.append((charts_topology.core_to_core, (sets,)))  # a list of charts
    return jobs


_WORK = []  # the jobs of the draw_all in progress, inherited by its forked workers


def _draw(i, opts):
    fn, args = _WORK[i]
    with plt.rc_context(RC):
        return fn(*args, opts)


def draw_all(sets, out_dir, size=None, dpi=None, metric='median') -> list:
    """Draws every chart the data allows into out_dir; returns [Chart] in report order. The
    charts are drawn by forked workers, one per CPU (each chart is the same bytes either way)."""
    opts = Options(out_dir, dpi or Options.dpi, metric, size)
    _WORK[:] = _jobs(sets, size)
    try:
        workers = min(len(_WORK), len(os.sched_getaffinity(0)))
        if workers > 1:
            ctx = multiprocessing.get_context('fork')
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                made = list(pool.map(_draw, range(len(_WORK)), [opts] * len(_WORK)))
        else:
            made = [_draw(i, opts) for i in range(len(_WORK))]
    finally:
        _WORK.clear()
    flat = [c for m in made for c in (m if isinstance(m, list) else [m])]
    return [c for c in flat if c is not None]
