"""Real A/A rounds of the `ci` suite on this project's 2-vCPU VM, kept compact in
fixtures/aa-rounds.json: per side (a, b), benchmark and metric, the values of every repetition
of every round. `pack` makes that file from round folders (see make_fixtures.sh); `unpack`
turns it back into round folders that compare and calibrate read like any run."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, 'fixtures', 'aa-rounds.json')
METRICS = ('real_time', 'cpu_time', 'latency_p50_ns', 'latency_p99_ns', 'bytes_per_second',
           'cpu_self_ns_per_msg', 'cpu_peer_ns_per_msg')
CONTEXT = ('ipcbench_schema_version', 'ipcbench_version', 'date', 'cpu_model', 'num_cpus',
           'cpu_count_online', 'cpus_allowed', 'kernel', 'machine', 'cpu_governor',
           'clocksource', 'smt', 'transparent_hugepages', 'placements', 'build_type',
           'compiler', 'comparability', 'comparability_key')


def pack(folder):
    """{'context': .., 'sides': {side: {name: {metric: [[rep values] per round]}}}} from
    folder/a/round-N and folder/b/round-N (times in ns)."""
    sys.path.insert(0, os.path.join(HERE, '..', '..'))
    from reports import load
    out = {'sides': {}}
    sets = {side: load.load(os.path.join(folder, side)) for side in ('a', 'b')}
    pairs = min(len(rs.parts) for rs in sets.values())   # complete pairs only
    for side, rs in sets.items():
        rs.parts = rs.parts[:pairs]
        out.setdefault('context', {k: rs.context[k] for k in CONTEXT if k in rs.context})
        out['context']['ipcbench_config'] = rs.context.get('ipcbench_config', {})
        per = out['sides'][side] = {}
        for r, part in enumerate(rs.parts):
            for e in part.iterations():
                name = e.name.removesuffix('/manual_time')
                for m in METRICS:
                    if m in e.values:
                        rounds = per.setdefault(name, {}).setdefault(m, [])
                        while len(rounds) <= r:
                            rounds.append([])
                        rounds[r].append(float(f'{e.values[m]:.6g}'))
    return out


def entries(name, metrics, r, reps):
    """bench.json entries of one benchmark in round r."""
    n = len(metrics['real_time'][r])
    for j in range(n):
        e = {'name': name + '/manual_time', 'run_name': name + '/manual_time',
             'run_type': 'iteration', 'repetition_index': j, 'time_unit': 'ns',
             'iterations': 1, 'latency_samples': 1}
        e.update({m: vals[r][j] for m, vals in metrics.items() if len(vals[r]) == n})
        reps.append(e)


def unpack(doc, folder, shift=None, sides=('a', 'b')):
    """folder/SIDE/round-N/bench.json from the packed doc; shift: {(side, name): factor}
    multiplies that benchmark's times (and divides its rates) on that side."""
    for side in sides:
        per = doc['sides'][side]
        n_rounds = max(len(m['real_time']) for m in per.values())
        for r in range(n_rounds):
            bench = []
            for name, metrics in sorted(per.items()):
                if r < len(metrics['real_time']):
                    entries(name, metrics, r, bench)
            f = (shift or {})
            for e in bench:
                k = f.get((side, e['run_name'].removesuffix('/manual_time')), 1.0)
                for m in METRICS:
                    if m in e:
                        e[m] = e[m] / k if m.endswith('_per_second') else e[m] * k
            d = os.path.join(folder, side, f'round-{r + 1}')
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, 'bench.json'), 'w') as fh:
                json.dump({'context': doc['context'], 'benchmarks': bench}, fh)
    return [os.path.join(folder, s) for s in sides]


def read():
    with open(FIXTURE) as f:
        return json.load(f)


if __name__ == '__main__':
    with open(FIXTURE, 'w') as f:
        json.dump(pack(sys.argv[1]), f, separators=(',', ':'), sort_keys=True)
    print(f'{FIXTURE}: {os.path.getsize(FIXTURE) // 1024} KiB')
