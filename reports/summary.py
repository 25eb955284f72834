"""summary.md (Markdown for docs) and index.html (self-contained: inline SVG, no external
files) from the same pieces: run descriptions, charts, one table per workload.
"""
from __future__ import annotations

import html
import os
import re

from reports import compute, fmt

EXPLAIN = {
    'pingpong': 'One-way latency p50 / p99 (half the round trip).',
    'stream': 'Payload throughput (p50 one-way latency from the send stamp, queueing included).',
    'fanin': 'N producers into one consumer: throughput of everything received (p50 one-way '
             'latency).',
    'fanout': 'One producer to N consumers: throughput of everything delivered (p50 one-way '
              'latency).',
}
CPU_NOTE = ('Each cell ends with the CPU time per message of the measured side + the peers. '
            'With repetitions, every number is the median over them.')


def run_lines(rs) -> list:
    """What the run was: machine, placement, settings; one line each."""
    c = rs.context
    cfg = c.get('ipcbench_config') or {}
    place = '; '.join(f'{p.get("name", "?")} (measured side on CPU {p.get("cpu_measured_side")},'
                      f' peers on CPU {p.get("cpu_peer")})' for p in c.get('placements', []))
    return [f'machine: {c.get("cpu_model", "?")}, {c.get("num_cpus", "?")} CPUs, '
            f'{c.get("kernel", "?")}',
            f'placement: {place or "?"}',
            f'suite {cfg.get("suite", "?")}, {cfg.get("repetitions", 1)} repetition(s), '
            f'min time {cfg.get("min_time_s", "?")} s, verify {c.get("verify", "?")}; timer cost '
            f'{c.get("timer_cost_ns", "?")} ns per read; build {c.get("build_type", "?")}',
            f'run {c.get("date", "?")} (ipcbench {c.get("ipcbench_version", "?")}, '
            f'schema {c.get("ipcbench_schema_version", "?")})']


def problems(sets) -> tuple:
    """(skipped, failed): lines naming skipped combinations (with the limit) and failures."""
    skipped, failed = [], []
    for rs in sets:
        pre = f'{rs.label}: ' if len(sets) > 1 else ''
        for sk in rs.context.get('ipcbench_skipped') or []:
            skipped.append(f'{pre}{sk.get("name", "?")}: {sk.get("reason", "?")}')
        seen = set()
        for e in rs.entries:
            if e.error and e.name not in seen:
                seen.add(e.name)
                failed.append(f'{pre}{e.name}: {e.error}')
    return skipped, failed


def _num(d: dict, key: str) -> float:
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def floor_lines(rs) -> list:
    """context.floors as Markdown, one block per placement, and the results below their floor."""
    out = []
    below = rs.context.get('ipcbench_below_floor') or []
    if below:
        out += ['### Below the physical floor (impossible: a measuring error)', '']
        out += [f'- {b}' for b in below if isinstance(b, str)] + ['']
    for f in rs.context.get('floors') or []:
        if not isinstance(f, dict):
            continue
        def num(k, d=f):
            return _num(d, k)
        out += [f'**{f.get("placement", "?")}** (CPU {f.get("cpu_a", "?")} / CPU '
                f'{f.get("cpu_b", "?")}): one line {fmt.ns_text(num("line1_ns"))}, two lines '
                f'{fmt.ns_text(num("line2_ns"))}, clock read {fmt.ns_text(num("clock_ns"))}, '
                f'futex hand-off {fmt.ns_text(num("futex_handoff_ns"))}, pipe hand-off '
                f'{fmt.ns_text(num("pipe_handoff_ns"))}', '',
                '| size | ping-pong one-way, copy | in place | stream ceiling, copy | in place '
                '| memcpy |', '|---|---:|---:|---:|---:|---:|']
        for z in f.get('sizes') or []:
            if isinstance(z, dict):
                def v(k, d=z):
                    return _num(d, k)
                out.append(f'| {fmt.size_text(int(v("bytes")))} | '
                           f'{fmt.ns_text(v("pingpong_copy_ns"))} | '
                           f'{fmt.ns_text(v("pingpong_inplace_ns"))} | '
                           f'{fmt.rate_text(v("stream_copy_bytes_per_second"))} | '
                           f'{fmt.rate_text(v("stream_inplace_bytes_per_second"))} | '
                           f'{fmt.rate_text(v("memcpy_bytes_per_second"))} |')
        out.append('')
    return out


def markdown(sets, charts) -> str:
    out = ['# ipcbench results', '']
    for rs in sets:
        if len(sets) > 1:
            out.append(f'**{rs.label}** (`{rs.path}`)')
            out.append('')
        out += [f'- {line}' for line in run_lines(rs)] + ['']
    if charts:
        out += ['## Charts', '']
        for title, files in charts:
            svg = next(f for f in files if f.endswith('.svg'))
            png = next(f for f in files if f.endswith('.png'))
            out += [f'### {title}', '', f'![{title}]({svg})', '', f'PNG: [{png}]({png})', '']
    for workload, (header, rows) in compute.tables(sets).items():
        out += [f'## {workload}', '', f'{EXPLAIN.get(workload, "")} {CPU_NOTE}', '',
                '| ' + ' | '.join(header) + ' |',
                '|---|' + '---:|' * (len(header) - 1)]
        out += ['| ' + ' | '.join(r) + ' |' for r in rows]
        out.append('')
    floors = [(rs, floor_lines(rs)) for rs in sets]
    if any(lines for _, lines in floors):
        out += ['## Physical floors', '',
                'Measured at the start of each run, pinned like it: what no mechanism can beat '
                'here. Each result carries `floor_ns` or `ceiling_bytes_per_second` and '
                '`ratio_to_floor` (see the README).', '']
        for rs, lines in floors:
            if lines and len(sets) > 1:
                out += [f'*{rs.label}*', '']
            out += lines
    skipped, failed = problems(sets)
    if failed:
        out += ['## Failed', ''] + [f'- {f}' for f in failed] + ['']
    if skipped:
        out += ['## Skipped (limits of this machine)', ''] + [f'- {s}' for s in skipped] + ['']
    return '\n'.join(out)


_ID = re.compile(r'\bid="([^"]+)"')


def inline_svg(path: str, prefix: str) -> str:
    """An SVG file's markup for inlining in HTML, its ids prefixed so that several charts on
    one page never resolve each other's references."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    text = text[text.index('<svg'):]
    text = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r'url\(#', f'url(#{prefix}', text)
    return re.sub(r'href="#', f'href="#{prefix}', text)


CSS = ('body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;'
       'color:#222}table{border-collapse:collapse;font-size:13px;margin:1em 0}'
       'td,th{border:1px solid #ccc;padding:3px 8px}td{text-align:right}'
       'td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}'
       'svg{max-width:100%;height:auto}figure{margin:1em 0 2em}')


def html_page(sets, charts, out_dir) -> str:
    e = html.escape
    body = ['<h1>ipcbench results</h1>']
    for rs in sets:
        if len(sets) > 1:
            body.append(f'<h3>{e(rs.label)}</h3>')
        body.append('<ul>' + ''.join(f'<li>{e(x)}</li>' for x in run_lines(rs)) + '</ul>')
    for n, (title, files) in enumerate(charts):
        svg = next(f for f in files if f.endswith('.svg'))
        body.append(f'<figure><h2>{e(title)}</h2>'
                    f'{inline_svg(os.path.join(out_dir, svg), f"c{n}-")}</figure>')
    for workload, (header, rows) in compute.tables(sets).items():
        body.append(f'<h2>{e(workload)}</h2><p>{e(EXPLAIN.get(workload, ""))} {e(CPU_NOTE)}</p>')
        body.append('<table><tr>' + ''.join(f'<th>{e(h)}</th>' for h in header) + '</tr>'
                    + ''.join('<tr>' + ''.join(f'<td>{e(c)}</td>' for c in r) + '</tr>'
                              for r in rows) + '</table>')
    skipped, failed = problems(sets)
    for title, items in (('Failed', failed), ('Skipped (limits of this machine)', skipped)):
        if items:
            body.append(f'<h2>{title}</h2><ul>' + ''.join(f'<li>{e(i)}</li>' for i in items)
                        + '</ul>')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<title>ipcbench results</title>'
            f'<style>{CSS}</style></head><body>\n' + '\n'.join(body) + '\n</body></html>\n')
