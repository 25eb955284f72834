"""What `ipcreport history add|list|export` and `ipcreport trend` do (`ipcbench history` runs
the first three through scripts/ipcreport): read, store or compute, write. Bad input, an
unusable database and a refused push are BadInput: one line, exit 2."""
from __future__ import annotations

import json
import os
import sys

from reports import (bencher, calibration, fmt, gate, history, history_db, history_gate, load,
                     metrics as mx, trend)
from reports.commands import EXIT_OK, _prepare_dir, write_file, write_stdout


def _say(text: str) -> None:
    write_stdout(text + '\n')


def _gate_opts(args, row) -> gate.Options:
    cal = calibration.load(args.calibration) if args.calibration else None
    return gate.Options(alpha=args.alpha, threshold=args.threshold,
                        tail_threshold=args.tail_threshold,
                        calibration=history_gate.usable_calibration(cal, row))


def _verdict_lines(rows: list, metric: str, baseline_ids: list) -> list:
    mine = [r for r in rows if r[1] == metric]
    if not mine:
        return [f'  gate ({metric}): not judged, no earlier run of this environment to judge '
                'against']
    count = {}
    for r in mine:
        count[r[2]] = count.get(r[2], 0) + 1
    span = (f'runs {baseline_ids[0]}-{baseline_ids[-1]}' if len(baseline_ids) > 1
            else f'run {baseline_ids[0]}') if baseline_ids else 'no run'
    out = [f'  gate ({metric}, against {span} of this environment): {len(mine)} judged: '
           + ', '.join(f'{n} {v}' for v, n in sorted(count.items()))]
    for r in mine:
        if r[2] in (gate.REGRESSION, gate.IMPROVEMENT):
            out.append(f'  {r[2].upper()} {r[0]}: {fmt.change_text(r[3])} '
                       f'[{fmt.change_text(r[4])}, {fmt.change_text(r[5])}]')
    return out


def _add_one(db, path: str, rs, args) -> None:
    run = history.make_run(rs, args.commit)
    existing = history_db.find_digest(db, run.digest)
    if existing is not None:
        _say(f'ipcreport history: {path}: already in the history as run {existing} (the same '
             'bench.json files); not added again')
        return
    with db:
        rid = history_db.insert_run(db, run)
        row = history_db.run_by_id(db, rid)
        rows = history_gate.judge_run(db, row, args.metric, _gate_opts(args, row), args.window)
        history_db.insert_verdicts(db, rid, rows)
    before = [r.id for r in history_db.runs(db, run.key)
              if (r.time, r.id) < (row.time, row.id)][-args.window:]
    _say(f'ipcreport history: added run {rid} ({run.time}, commit {run.commit or "unknown"}, '
         f'environment {run.key}): {len({b for b, _ in run.values})} benchmarks'
         + (f', {len(run.failures)} failed' if run.failures else ''))
    for m in args.metric:
        for line in _verdict_lines(rows, m, before):
            _say(line)


def run_add(args) -> int:
    loaded = [(d, load.load(d)) for d in args.dirs]     # every input read before the database
    path = args.db or history_db.default_path()
    db = history_db.open_db(path, create=True)
    for d, rs in loaded:
        _add_one(db, d, rs, args)
    n = len(history_db.runs(db))
    _say(f'ipcreport history: {path} holds {n} run{"s" if n != 1 else ""}')
    return EXIT_OK


def run_list(args) -> int:
    path = args.db or history_db.default_path()
    db = history_db.open_db(path)
    rows = history_db.runs(db, trend.pick_key(db, args.key) if args.key else None)
    if args.json:
        doc = []
        for r in rows:
            b, f, reg = history_db.counts(db, r.id)
            doc.append({'id': r.id, 'time': r.time, 'end_time': r.end_time, 'commit': r.commit,
                        'comparability_key': r.key, 'suite': r.suite, 'host': r.host,
                        'rounds': r.rounds, 'benchmarks': b, 'failed': f, 'regressions': reg,
                        'source': r.source, 'digest': r.digest})
        _say(json.dumps(doc, indent=1))
        return EXIT_OK
    lines = [f'{path}: {len(rows)} run{"s" if len(rows) != 1 else ""}']
    for key in sorted({r.key for r in rows}, key=lambda k: min(r.time for r in rows
                                                              if r.key == k)):
        mine = [r for r in rows if r.key == key]
        c = mine[-1].context
        lines += ['', f'environment {key}: {c.get("cpu_model", "?")}, {c.get("num_cpus", "?")} '
                  f'CPUs, {c.get("kernel", "?")}, {c.get("build_type", "?")}; {len(mine)} run'
                  + ('s' if len(mine) != 1 else ''),
                  f'  {"run":>4}  {"time":20}  {"commit":12}  {"suite":8}  {"benchmarks":>10}  '
                  f'{"failed":>6}  {"regressions":>11}  source']
        for r in mine:
            b, f, reg = history_db.counts(db, r.id)
            lines.append(f'  {r.id:>4}  {r.time:20}  {(r.commit or "unknown")[:12]:12}  '
                         f'{r.suite[:8]:8}  {b:>10}  {f:>6}  {reg:>11}  {r.source}')
    _say('\n'.join(lines))
    return EXIT_OK


def _target(args) -> bencher.Target:
    project = args.project or os.environ.get('BENCHER_PROJECT', '')
    token = os.environ.get('BENCHER_API_TOKEN', '')
    if not project:
        raise load.BadInput('--push needs --project SLUG (or $BENCHER_PROJECT)')
    if not token and not args.request_out:
        raise load.BadInput('--push needs the API token in $BENCHER_API_TOKEN')
    return bencher.Target(host=args.host or os.environ.get('BENCHER_HOST') or
                          bencher.DEFAULT_HOST, project=project,
                          branch=args.branch or os.environ.get('BENCHER_BRANCH') or 'main',
                          testbed=args.testbed or os.environ.get('BENCHER_TESTBED', ''),
                          token=token or 'unset')


def _push(db, args) -> int:
    target = _target(args)
    if args.run:
        chosen = [history_db.run_by_id(db, i) for i in args.run]
    else:
        every = history_db.runs(db, trend.pick_key(db, args.key) if args.key else None)
        chosen = [r for r in every if not history_db.pushed(db, r.id, target.name)] \
            if args.all else every[-1:]
    requests = [(r, bencher.request(db, r, target)) for r in chosen]
    if args.request_out:
        write_file(args.request_out, ''.join(json.dumps(bencher.redacted(q), sort_keys=True) +
                                             '\n' for _, q in requests))
        _say(f'ipcreport history: wrote {len(requests)} request(s) to {args.request_out}; '
             'nothing was sent')
        return EXIT_OK
    for r, q in requests:
        answer = bencher.send(q)
        report = str(answer.get('uuid', ''))
        history_db.record_push(db, r.id, target.name, history.now_utc(), report)
        note = '' if q['body'].get('hash') else ' (without a git hash: none recorded, or dirty)'
        _say(f'ipcreport history: pushed run {r.id} to {target.name}'
             + (f' as report {report}' if report else '') + note)
    if not requests:
        _say(f'ipcreport history: nothing to push: every run is already at {target.name}')
    return EXIT_OK


def run_export(args) -> int:
    db = history_db.open_db(args.db or history_db.default_path())
    if args.push:
        return _push(db, args)
    if not args.output:
        raise load.BadInput('export needs --output FILE (the BMF document) or --push')
    if len(args.run or []) > 1:
        raise load.BadInput('--output takes one run (--run ID once); --push sends several')
    every = history_db.runs(db)
    if not every:
        raise load.BadInput('the history has no runs yet (ipcbench history add RESULT_DIR)')
    rid = args.run[0] if args.run else every[-1].id
    doc = bencher.bmf(db, history_db.run_by_id(db, rid).id)
    write_file(args.output, json.dumps(doc, indent=1, sort_keys=True) + '\n')
    _say(f'ipcreport history: wrote {args.output} (run {rid}, {len(doc)} benchmarks, Bencher '
         'Metric Format)')
    return EXIT_OK


def run_history(args) -> int:
    return {'add': run_add, 'list': run_list, 'export': run_export}[args.action](args)


def trend_markdown(trends: list, runs: list, key: str, metric: str, charts: list) -> str:
    """trend.md: what was drawn, the gate's flags first, then every benchmark's latest run
    against its band."""
    flagged = [(t, p) for t in trends for p in t.flagged]
    lines = [f'# History of {metric} ({mx.describe(metric)})', '',
             f'Environment `{key}`, {len(runs)} runs ({runs[0].time} to {runs[-1].time}), '
             f'{len(trends)} benchmarks. Charts: ' + ', '.join(f'`{c.stem}.png`' for c in charts),
             '', '## Regressions the gate flagged', '']
    lines += [f'- `{t.benchmark}`: run {p.run_id} ({p.time}, commit {(p.commit or "?")[:12]}) '
              f'{fmt.change_text(p.change)}' for t, p in flagged] or ['None.']
    lines += ['', '## Latest run against its noise band', '',
              '| benchmark | runs | latest | band (95%) | where | gate on the latest |',
              '|---|---:|---:|---:|---|---|']
    for t in trends:
        p = t.latest
        b = (f'{fmt.metric_text(metric, p.band[0])} – {fmt.metric_text(metric, p.band[2])}'
             if p.band else '–')
        lines.append(f'| `{t.benchmark}` | {len(t.points)} | {fmt.metric_text(metric, p.value)} '
                     f'(run {p.run_id}) | {b} | {trend.position(p)} | '
                     f'{p.verdict or "not judged"} |')
    return '\n'.join(lines) + '\n'


def run_trend(args) -> int:
    path = args.db or history_db.default_path()
    db = history_db.open_db(path)
    key = trend.pick_key(db, args.key)
    runs = history_db.runs(db, key)
    cal = calibration.load(args.calibration) if args.calibration else None
    cal = history_gate.usable_calibration(cal, runs[-1])
    ts = trend.trends(db, key, args.metric, args.window, args.benchmark, args.last, cal)
    out_dir = args.out or os.path.join(os.path.dirname(os.path.abspath(path)), 'trend')
    _prepare_dir(out_dir)
    from reports import charts_trend   # matplotlib only once the input is good
    from reports.chartkit import Options
    try:
        charts_trend.remove_old(out_dir)
        made = charts_trend.draw(ts, runs, key, args.metric, args.window, cal is not None,
                                 Options(out_dir, args.dpi))
    except OSError as err:
        raise load.BadInput(f'{err.filename or out_dir}: cannot write charts '
                            f'({err.strerror})') from None
    write_file(os.path.join(out_dir, 'trend.md'),
               trend_markdown(ts, runs, key, args.metric, made))
    flagged = sum(len(t.flagged) for t in ts)
    _say(f'ipcreport trend: {len(ts)} benchmarks over {len(runs)} runs of environment {key}; '
         f'the gate flagged {flagged} regression{"s" if flagged != 1 else ""}; wrote '
         f'{out_dir}/trend.md and {", ".join(c.stem for c in made)} (PNG + SVG)')
    if cal is None and args.calibration:
        print('ipcreport trend: note: the calibration is of another environment; bands use '
              'the runs\' own spread', file=sys.stderr)
    return EXIT_OK
