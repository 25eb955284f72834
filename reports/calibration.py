"""Noise calibration of a runner: from A/A rounds (the same binary, run alternately as two
sides), per benchmark and metric, the spread between rounds and the smallest change the gate
can detect at the configured rounds, alpha and power. compare uses it for the detectable
change and "too noisy" verdicts, and to judge a single round per side. Stored as JSON with
the environment's fingerprint: a calibration of another machine or setting is not used.
"""
from __future__ import annotations

import json
import math

import numpy as np

from reports import environment, rounds, stats
from reports.load import BadInput, ResultSet

SCHEMA = 1
# What a calibration covers by default: the gate's metric and those the exports show.
METRICS = ('median', 'mean', 'real_time', 'cpu_time', 'latency_p50_ns', 'latency_p99_ns',
           'bytes_per_second')


def pair_spread(a: list, b: list) -> tuple:
    """(sigma, df): the standard deviation of per-round log differences b - a, which is
    what the paired test's noise is. Needs 2 pairs or more."""
    d = np.log(np.asarray(b, float)) - np.log(np.asarray(a, float))
    return float(d.std(ddof=1)), len(d) - 1


def round_spread(a: list, b: list) -> float:
    """Pooled standard deviation of log round values within each side (between rounds)."""
    la, lb = np.log(np.asarray(a, float)), np.log(np.asarray(b, float))
    ss = float(((la - la.mean()) ** 2).sum() + ((lb - lb.mean()) ** 2).sum())
    return math.sqrt(ss / (len(la) + len(lb) - 2))


def mdc_paired(sigma: float, rounds_n: int, alpha: float, m: int, power: float) -> float:
    """Detectable change of the paired test with `rounds_n` interleaved rounds per side,
    Holm over m benchmarks (the first rejection is at alpha / m)."""
    if rounds_n < 2:
        return math.inf
    return stats.detectable(sigma / math.sqrt(rounds_n), rounds_n - 1, alpha / m, power)


def calibrate(a: ResultSet, b: ResultSet, *, rounds_n: int, alpha: float, power: float,
              metrics=METRICS) -> dict:
    """The calibration document from two interleaved A/A sides."""
    if not rounds.interleaved(a, b):
        raise BadInput(f'calibration needs two sides of the same rounds (round-1 ... round-N, '
                       f'N >= 3): {a.path} and {b.path} are not')
    hard, _ = environment.compare_contexts(a.context, b.context)
    if hard:
        raise BadInput('the two sides of an A/A calibration differ: ' + '; '.join(hard))
    out = {}
    for metric in metrics:
        sa, sb = rounds.summarise(a, metric), rounds.summarise(b, metric)
        for k in sorted(set(sa) & set(sb)):
            x, y = rounds.pairs(sa[k], sb[k])
            if len(x) < 3 or min(x + y) <= 0:
                continue
            sigma, df = pair_spread(x, y)
            out.setdefault(sa[k].name, {})[metric] = {
                'rounds': len(x), 'sigma_pair': sigma, 'df': df,
                'sigma_round': round_spread(x, y)}
    if not out:
        raise BadInput(f'no benchmark has 3 clean rounds on both sides in {a.path}, {b.path}')
    m = len(out)
    for per in out.values():
        for entry in per.values():
            entry['detectable'] = mdc_paired(entry['sigma_pair'], rounds_n, alpha, m, power)
    return {'ipcbench_calibration': SCHEMA, 'comparability_key': environment.key(a.context),
            'comparability': environment.fingerprint(a.context),
            'settings': {'rounds': rounds_n, 'alpha': alpha, 'power': power, 'benchmarks': m},
            'benchmarks': out}


def save(doc: dict, path: str) -> None:
    try:
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write('\n')
    except OSError as err:
        raise BadInput(f'{path}: cannot write ({err.strerror})') from None


def load(path: str) -> dict:
    """Reads a calibration written by `ipcreport calibrate`. Raises BadInput."""
    from reports.load import parse_json_text, read_text
    doc = parse_json_text(read_text(path), path)
    if not (isinstance(doc, dict) and doc.get('ipcbench_calibration') == SCHEMA
            and isinstance(doc.get('benchmarks'), dict)):
        raise BadInput(f'{path}: not a calibration written by ipcreport calibrate')
    for name, per in doc['benchmarks'].items():
        for metric, e in (per.items() if isinstance(per, dict) else [(None, None)]):
            if not (isinstance(e, dict) and all(isinstance(e.get(f), (int, float))
                                                for f in ('sigma_pair', 'df', 'rounds'))
                    and e['sigma_pair'] >= 0 and e['df'] >= 1):
                raise BadInput(f'{path}: benchmark {name} metric {metric}: needs sigma_pair '
                               '>= 0, df >= 1 and rounds')
    return doc


def applies(doc: dict, ctx: dict) -> list:
    """Why a calibration does not fit a run (its fingerprint differs), [] when it fits."""
    if environment.key(ctx) and environment.key(ctx) == doc.get('comparability_key'):
        return []
    hard, _ = environment.differences(doc.get('comparability') or {},
                                      environment.fingerprint(ctx))
    return hard


def entry(doc: dict | None, name: str, metric: str) -> dict | None:
    if not doc:
        return None
    return (doc['benchmarks'].get(name) or {}).get(metric)


def table(doc: dict) -> str:
    """The calibration as Markdown: every benchmark's spread and detectable change."""
    s = doc['settings']
    lines = [f'## ipcbench calibration: {s["benchmarks"]} benchmarks',
             '', f'Detectable change: with {s["rounds"]} interleaved rounds per side, alpha '
             f'{s["alpha"]:g} (Holm over {s["benchmarks"]}), power {s["power"]:.0%}. Spread: '
             'standard deviation of the per-round log ratio of two A/A sides.', '',
             '| benchmark | metric | rounds | spread | detectable change |',
             '|---|---|---:|---:|---:|']
    for name in sorted(doc['benchmarks']):
        for metric, e in sorted(doc['benchmarks'][name].items()):
            lines.append(f'| `{name}` | {metric} | {e["rounds"]} | {e["sigma_pair"]:.1%} | '
                         f'{e["detectable"]:+.1%} |')
    return '\n'.join(lines) + '\n'
