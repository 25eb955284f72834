"""What summary.md and index.html say, in order: the runs, the short answers (fastest,
cheapest in CPU, best blocking per workload and size), the charts, one table per workload and
group of sizes (no empty cells), the physical floors, the limits, the conformance verdicts,
failures and skips. Built once as blocks (render.py turns them into Markdown and HTML).
"""
from __future__ import annotations

from reports import answers as ans, compute, context_info, fmt, metrics as mx, render
from reports import rate as rate_report

EXPLAIN = {
    'pingpong': 'One-way latency {stat} / p99 (half the round trip).',
    'stream': 'Payload throughput ({stat} one-way latency from the send stamp, queueing '
              'included).',
    'fanin': 'N producers into one consumer: throughput of everything received ({stat} '
             'one-way latency).',
    'fanout': 'One producer to N consumers: throughput of everything delivered ({stat} '
              'one-way latency).',
}
CPU_NOTE = ('Each cell ends with the CPU time per message of the measured side + the peers. '
            'With repetitions, every number is the {how} over them.')


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


def floor_blocks(rs) -> list:
    """context.floors, one paragraph and table per placement, and the results below them."""
    out = []
    below = [b for b in rs.context.get('ipcbench_below_floor') or [] if isinstance(b, str)]
    if below:
        out += [('h3', 'Below the physical floor (a measuring error, or the machine changed speed)'),
                ('list', below)]
    unsettled = [u for u in rs.context.get('floors_unsettled') or [] if isinstance(u, str)]
    if unsettled:
        out += [('h3', 'Unsettled floors (the floor moved while the result was measured: '
                       'ratio not judged)'),
                ('list', unsettled)]
    for f in rs.context.get('floors') or []:
        if not isinstance(f, dict):
            continue
        def num(k, d=f):
            return _num(d, k)
        out.append(('p', f'**{f.get("placement", "?")}** (CPU {f.get("cpu_a", "?")} / CPU '
                    f'{f.get("cpu_b", "?")}): one line {fmt.ns_text(num("line1_ns"))}, two lines '
                    f'{fmt.ns_text(num("line2_ns"))}, clock read {fmt.ns_text(num("clock_ns"))}, '
                    f'futex hand-off {fmt.ns_text(num("futex_handoff_ns"))}, pipe hand-off '
                    f'{fmt.ns_text(num("pipe_handoff_ns"))}'))
        rows = []
        for z in f.get('sizes') or []:
            if isinstance(z, dict):
                def v(k, d=z):
                    return _num(d, k)
                rows.append([fmt.size_text(int(v('bytes'))), fmt.ns_text(v('pingpong_copy_ns')),
                             fmt.ns_text(v('pingpong_inplace_ns')),
                             fmt.rate_text(v('stream_copy_bytes_per_second')),
                             fmt.rate_text(v('stream_inplace_bytes_per_second')),
                             fmt.rate_text(v('memcpy_bytes_per_second'))])
        out.append(('table', ['size', 'ping-pong one-way, copy', 'in place',
                              'stream ceiling, copy', 'in place', 'copy'], rows))
    return out


def floor_lines(rs) -> list:
    """floor_blocks as Markdown lines ([] without floors)."""
    blocks = floor_blocks(rs)
    return render.markdown(blocks).split('\n') if blocks else []


def _pick_text(p, workload, cpu_first=False) -> str:
    if p is None:
        return 'none ran'
    value = fmt.ns_text(p.value) if ans.by_latency(workload) else fmt.rate_text(p.value)
    if cpu_first:
        return f'{p.name}: {fmt.ns_text(p.cpu)} CPU/msg ({value})'
    return f'{p.name}: {value}'


def _compared(a) -> str:
    n = len({p.key.backend for p in a.picks})
    return f'{len(a.picks)} ({n} backend{"s" if n != 1 else ""})'


def answer_table(sets, metric=mx.MEDIAN) -> tuple:
    """(header, rows) of the answers: per workload, size, (set,) placement the fastest, the
    cheapest in CPU per message and the best blocking mechanism, each with its number."""
    multi = len(sets) > 1
    header = (['workload', 'size'] + (['run'] if multi else []) +
              ['placement', 'compared', 'fastest', 'cheapest in CPU per message',
               'best blocking'])
    rows = []
    for a in ans.answers(sets, metric):
        what = a.workload + (f' ({a.fan} peers)' if a.fan else '')
        rows.append([what, fmt.size_text(a.size)] + ([a.label] if multi else []) +
                    [a.placement or '?', _compared(a), _pick_text(a.fastest, a.workload),
                     _pick_text(a.cheapest, a.workload, cpu_first=True),
                     _pick_text(a.blocking, a.workload)])
    return header, rows


def _answers_blocks(sets, metric) -> list:
    header, rows = answer_table(sets, metric)
    stat = 'mean' if metric == mx.MEAN else 'p50'
    return [('h2', 'Answers'),
            ('p', f'Fastest: pingpong by one-way latency ({stat}, lower is better), the other '
             'workloads by payload throughput. Cheapest: the least CPU time per message, both '
             'sides together. Best blocking: the fastest whose sides sleep in the kernel while '
             'they wait (wait mode block, or adaptive: it spins for --spin-us first, so at small '
             'latencies it may never sleep), the choice when CPUs are shared. '
             + ('Each number is the median over repetitions.' if metric != mx.MEAN else
                'Each number is the mean over repetitions.')),
            ('table', header, rows, 'l' * len(header))]


def _limit_blocks(sets) -> list:
    out = []
    for rs in sets:
        configured, probed = context_info.limits(rs.context)
        if not configured and not probed:
            continue
        out.append(('h2', 'Limits' + (f' ({rs.label})' if len(sets) > 1 else '')))
        if configured:
            out += [('p', 'Configured (what /proc/sys and the resource limits say):'),
                    ('table', ['limit', 'value'], configured, 'll')]
        if probed:
            out += [('p', 'Probed (the largest the kernel really accepted; objects removed):'),
                    ('table', ['probe', 'value', 'what bounded it', 'note'], probed, 'lrll')]
    return out


def _conformance_blocks(conf) -> list:
    if conf is None:
        return [('h2', 'Conformance'),
                ('p', 'No conformance.json here: run `ipcbench conform --out DIR` and pass '
                 '--conformance DIR/conformance.json (or put it in the result folder).')]
    out = [('h2', 'Conformance'),
           ('p', f'`{conf.path}` ({conf.kernel}, uid {conf.uid}): {conf.total("PASS")} PASS, '
            f'{conf.total("FAIL")} FAIL, {conf.total("SKIP")} SKIP.'),
           ('table', ['mechanism', 'PASS', 'FAIL', 'SKIP'],
            [[m, str(c['PASS']), str(c['FAIL']), str(c['SKIP'])] for m, c in conf.counts.items()])]
    if conf.failed:
        out += [('h3', 'FAIL'),
                ('list', [f'{m}: {b} ({man}): {r}' for m, b, man, r in conf.failed])]
    if conf.skipped:
        out += [('h3', 'SKIP'), ('list', [f'{m}: {b}: {r}' for m, b, _, r in conf.skipped])]
    return out


def blocks(sets, charts, notes=(), conformance=None, metric=mx.MEDIAN) -> list:
    """The whole report as blocks."""
    everything, sets = sets, rate_report.without_rate(sets)  # rate: its own section
    out = [('h1', 'ipcbench results')]
    for rs in everything:
        if len(sets) > 1:
            out.append(('p', f'**{rs.label}** (`{rs.path}`)'))
        out.append(('list', run_lines(rs)))
    places = compute.placements(sets)
    if len(places) == 1:
        from reports.chartkit import only_placement_note
        out.append(('note', only_placement_note(sets, places)))
    out += _answers_blocks(sets, metric)
    if charts or notes:
        out.append(('h2', 'Charts'))
        out += [('chart', c) for c in charts]
        out += [('p', n) for n in notes]
    how = 'mean' if metric == mx.MEAN else 'median'
    stat = 'mean' if metric == mx.MEAN else 'p50'
    for t in compute.tables(sets, metric):
        out += [('h2', t.title),
                ('p', EXPLAIN.get(t.workload, '').format(stat=stat) + ' '
                 + CPU_NOTE.format(how=how)), ('table', t.header, t.rows)]
    out += rate_report.blocks(everything, metric)
    floors = [(rs, floor_blocks(rs)) for rs in sets]
    if any(b for _, b in floors):
        out += [('h2', 'Physical floors'),
                ('p', 'Measured at the start of each run, pinned like it: what no mechanism can '
                 'beat here. Each result carries `floor_ns` or `ceiling_bytes_per_second` and '
                 '`ratio_to_floor` (see the README).')]
        for rs, b in floors:
            if b and len(sets) > 1:
                out.append(('p', f'**{rs.label}**'))
            out += b
    out += _limit_blocks(sets)
    out += _conformance_blocks(conformance)
    skipped, failed = problems(everything)
    if failed:
        out += [('h2', 'Failed'), ('list', failed)]
    if skipped:
        out += [('h2', 'Skipped (limits of this machine)'), ('list', skipped)]
    return out


def markdown(sets, charts, notes=(), conformance=None, metric=mx.MEDIAN) -> str:
    return render.markdown(blocks(sets, charts, notes, conformance, metric))


def html_page(sets, charts, out_dir, notes=(), conformance=None, metric=mx.MEDIAN) -> str:
    return render.html_page(blocks(sets, charts, notes, conformance, metric), out_dir)
