"""`ipcreport trend`: per benchmark and metric, the history of one environment (comparability
key) in time order, each run with its noise band and the gate's verdict when it was added.

The noise band of a run is where it should land if nothing changed: the 95% prediction
interval of one more run from the runs before it (the same `window` runs the gate judged it
against), on log values as the gate works: exp(mean ± t(0.975, n-1) * s * sqrt(1 + 1/n)) of
those n runs' logs. With a calibration of this environment, s is its between-round spread
(sigma_round, known with its degrees of freedom), else the runs' own spread, which needs two
runs. A run outside its band is unusual for that benchmark alone; the gate (Holm over all of
a run's benchmarks, 5% / 25% thresholds) decides what is a regression.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from reports import calibration as cal_mod, history_db, stats
from reports.load import BadInput

LEVEL = 0.95


@dataclass
class Point:
    run_id: int
    index: int                  # position among the key's runs (0 = oldest)
    time: str
    commit: str | None
    value: float
    low: float
    high: float
    band: tuple | None = None   # (low, centre, high), None without enough earlier runs
    verdict: str = ''           # the gate's, when the run was added ('' if not judged)
    change: float | None = None
    reason: str = ''


@dataclass
class Trend:
    benchmark: str
    metric: str
    points: list = field(default_factory=list)

    @property
    def flagged(self) -> list:
        return [p for p in self.points if p.verdict == 'regression']

    @property
    def latest(self) -> Point:
        return self.points[-1]


def band(prior: list, sigma: float | None = None, df: float | None = None,
         level: float = LEVEL) -> tuple | None:
    """(low, centre, high) of the prediction interval of one more value from `prior`
    (positive numbers), on logs; with `sigma` (and its df) as the known spread of one run."""
    logs = [math.log(v) for v in prior if v > 0 and math.isfinite(v)]
    n = len(logs)
    mean = sum(logs) / n if n else 0.0
    if sigma is not None and df and n >= 1:
        s, dof = sigma, df
    elif n >= 2:
        s = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
        dof = n - 1
    else:
        return None
    half = stats.t_quantile(1 - (1 - level) / 2, dof) * s * math.sqrt(1 + 1 / n)
    return math.exp(mean - half), math.exp(mean), math.exp(mean + half)


def pick_key(db, key: str = '') -> str:
    """The key to draw: the one given (a unique prefix is enough), else the newest run's."""
    all_runs = history_db.runs(db)
    if not all_runs:
        raise BadInput('the history has no runs yet (ipcbench history add RESULT_DIR)')
    keys = sorted({r.key for r in all_runs})
    if not key:
        return max(all_runs, key=lambda r: (r.time, r.id)).key
    match = [k for k in keys if k.startswith(key)]
    if len(match) != 1:
        raise BadInput(f'--key {key}: matches {len(match)} of the history\'s keys '
                       f'({", ".join(keys)})')
    return match[0]


def _sigma(cal, bench, metric):
    e = cal_mod.entry(cal, bench, metric) if cal else None
    if not e:
        return None, None
    sigma = e.get('sigma_round') or e.get('sigma_pair', 0) / math.sqrt(2)
    return (sigma, e.get('df')) if sigma and e.get('df') else (None, None)


def trends(db, key: str, metric: str, window: int, pattern: str = '', last: int = 0,
           calibration=None) -> list:
    """[Trend] of every benchmark of the key's runs that has `metric` (matching the regular
    expression `pattern`), by name; each point's band from the `window` runs before it;
    only the `last` points kept when set (the bands still use the runs before them)."""
    try:
        rx = re.compile(pattern) if pattern else None
    except re.error as err:
        raise BadInput(f'--benchmark {pattern}: not a regular expression ({err})') from None
    runs = history_db.runs(db, key)
    per_run = [history_db.values(db, r.id, metric) for r in runs]
    judged = [history_db.verdicts(db, r.id, metric) for r in runs]
    names = sorted({b for vals in per_run for (b, _) in vals if not rx or rx.search(b)})
    out = []
    for bench in names:
        t = Trend(bench, metric)
        sigma, df = _sigma(calibration, bench, metric)
        for i, (r, vals) in enumerate(zip(runs, per_run)):
            v = vals.get((bench, metric))
            if v is None:
                continue
            prior = [pv[(bench, metric)].value for pv in per_run[max(0, i - window):i]
                     if (bench, metric) in pv]
            verdict = judged[i].get((bench, metric), {})
            t.points.append(Point(r.id, i, r.time, r.commit, v.value, v.low, v.high,
                                  band(prior, sigma, df), verdict.get('verdict', ''),
                                  verdict.get('change'), verdict.get('reason', '')))
        if last:
            t.points = t.points[-last:]
        out.append(t)
    if not out:
        raise BadInput(f'no benchmark of key {key} has metric "{metric}"'
                       + (f' and matches {pattern}' if pattern else ''))
    return out


def position(p: Point) -> str:
    """Where a point lies against its band: inside, above, below, or no band yet."""
    if p.band is None:
        return 'no band yet'
    if p.value > p.band[2]:
        return 'above'
    if p.value < p.band[0]:
        return 'below'
    return 'inside'
