"""Every chart the data allows, in report order, as PNG (at --dpi) and SVG (editable text,
<title> and <desc>; deterministic: same input, same bytes). Drawing is in charts_answer.py,
charts_size.py, charts_dist.py and charts_topology.py; what they draw is computed in
compute.py, answers.py, dist.py and topology.py. Charts that the data cannot support are not
drawn; a note says why.
"""
from __future__ import annotations

import os
import re

import matplotlib.pyplot as plt

from reports import charts_answer, charts_dist, charts_size, charts_topology, compute
from reports.chartkit import RC, Options

CHART_FILE = re.compile(r'^(which_[a-z]+|latency_vs_cpu_[0-9A-Za-z]+|'
                        r'placement_[a-z]+_[0-9A-Za-z]+|latency_vs_size|throughput_vs_size|'
                        r'throughput_[0-9A-Za-z_]+|'
                        r'latency_cdf_[0-9A-Za-z]+|heatmap_(p50|mean)_[0-9A-Za-z]+|'
                        r'ratio_[0-9A-Za-z]+|fan_scaling|core_to_core_[0-9A-Za-z_]+)\.(png|svg)$')


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


def draw_all(sets, out_dir, size=None, dpi=None, metric='median') -> list:
    """Draws every chart the data allows into out_dir; returns [Chart] in report order."""
    opts = Options(out_dir, dpi or Options.dpi, metric, size)
    made = []
    with plt.rc_context(RC):
        workloads = sorted({e.key.workload for rs in sets for e in rs.entries},
                           key=compute.workload_rank)
        for w in workloads:
            made.append(charts_answer.which_mechanism(sets, w, opts))
        lat_w = next((w for w in ('pingpong', 'stream') if w in workloads), None)
        at = report_size(sets, lat_w, size) if lat_w else None
        if 'pingpong' in workloads:
            made.append(charts_answer.latency_vs_cpu(sets, 'pingpong',
                                                     report_size(sets, 'pingpong', size), opts))
        for w in ('pingpong', 'stream'):
            if w in workloads:
                made.append(charts_answer.placement(sets, w, report_size(sets, w, size), opts))
        if 'pingpong' in workloads:
            made.append(charts_size.latency_vs_size(sets, 'pingpong', opts))
        if 'stream' in workloads:
            made.append(charts_size.throughput_vs_size(sets, 'stream', opts))
        if lat_w:
            made.append(charts_dist.latency_cdf(sets, lat_w, at, opts))
            made.append(charts_dist.heatmap(sets, lat_w, at, opts))
            made.append(charts_dist.ratio_heatmap(sets, lat_w, at, opts))
        made.append(charts_dist.fan_scaling(sets, opts))
        made.extend(charts_topology.core_to_core(sets, opts))
    return [c for c in made if c is not None]

