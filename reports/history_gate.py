"""The regression gate on a run as it enters the history: each benchmark's value against the
same benchmark in the `window` runs before it (by time) of the same comparability key, with
the gate's own statistics (gate.py): every earlier run is one round, so the test is the
two-sample t test of rounds that were not interleaved, Holm over the run's benchmarks, 5% (25%
for tails) thresholds, and a benchmark too noisy to see its threshold is flagged only beyond
what it can detect. The first run of a key is not judged; against one earlier run every
benchmark is inconclusive (one against one, as in compare; a calibration of this environment
names a change beyond its noise as possible). When the runs before all have exactly the
same value (percentiles read from histogram buckets are quantized), their spread of 0 is no
noise estimate: a change is inconclusive, not a regression.
"""
from __future__ import annotations

import math

from reports import calibration, gate, history_db
from reports.rounds import Series

DEFAULT_METRICS = ('median', 'latency_p99_ns')
DEFAULT_WINDOW = 10


def baseline(db, run: history_db.RunRow, metric: str, window: int) -> dict:
    """benchmark -> Series of its values in the `window` runs before `run` (same key, earlier
    time, or the same time and added earlier), oldest first; failed ones left out."""
    before = [r for r in history_db.runs(db, run.key)
              if (r.time, r.id) < (run.time, run.id)][-window:]
    out = {}
    for r in before:
        for (bench, _), v in history_db.values(db, r.id, metric).items():
            s = out.setdefault(bench, Series(bench))
            s.values.append(v.value)
            s.rounds.append(f'run-{r.id}')
    return out


def _row(bench, metric, j: gate.Judgement):
    e = j.estimate
    num = (lambda x: x if x is not None and math.isfinite(x) else None)
    return (bench, metric, j.verdict, num(e.change) if e else None, num(e.low) if e else None,
            num(e.high) if e else None, num(j.p_adjusted), num(j.detectable), j.n_base,
            j.reason)


def judge(db, run: history_db.RunRow, metric: str, opts: gate.Options, window: int) -> list:
    """Verdict rows (history_db.insert_verdicts) of `run` on one metric."""
    base = baseline(db, run, metric, window)
    new = history_db.values(db, run.id, metric)
    pairs, names = [], []
    for (bench, _), v in sorted(new.items()):
        b = base.get(bench)
        if b is None or not b.values:
            continue
        pairs.append((b, Series(bench, [v.value], [f'run-{run.id}'])))
        names.append(bench)
    o = gate.Options(metric=metric, alpha=opts.alpha, threshold=opts.threshold,
                     tail_threshold=opts.tail_threshold, power=opts.power,
                     correction=opts.correction, calibration=opts.calibration)
    judged = gate.judge_all(pairs, False, o)
    for (b, _), j in zip(pairs, judged):
        if j.verdict in (gate.REGRESSION, gate.IMPROVEMENT) and j.estimate.se == 0:
            # Every run before has the same value (a percentile read from histogram buckets):
            # a spread of 0 is no noise estimate, and one more run cannot be judged against it.
            j.verdict = gate.INCONCLUSIVE
            j.reason = (f'the {len(b.values)} runs before have exactly the same value (a '
                        'quantized metric): no spread to judge one run against; confirm with '
                        'scripts/ci-regression')
    return [_row(n, metric, j) for n, j in zip(names, judged)]


def usable_calibration(doc, run: history_db.RunRow):
    """The calibration when it is of this run's environment, else None."""
    ctx = {'comparability_key': run.key, 'comparability': run.fingerprint}
    if doc and not calibration.applies(doc, ctx):
        return doc
    return None


def judge_run(db, run: history_db.RunRow, metrics, opts: gate.Options, window: int) -> list:
    """Every verdict row of a run, over the metrics the history gates."""
    rows = []
    for m in metrics:
        rows += judge(db, run, m, opts, window)
    return rows
