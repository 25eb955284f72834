"""What the results history keeps of a run (history_db.py stores it): the run's identity (a
digest of its bench.json files, so the same run added twice is kept once), its environment
(the comparability key and fingerprint), commit and time, and per benchmark and metric the
value, lowest and highest. A run is one result folder, or a folder of rounds; its value is
the median over rounds of each round's median of repetitions, its bounds the lowest and the
highest round (with one round: its lowest and highest repetition), as `ipcreport export`.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import re
import statistics
from dataclasses import dataclass, field

from reports import environment, rounds
from reports.load import BadInput, ResultSet, bench_files

# The measurements a run keeps: times, rates and costs by their names' endings (so counters
# added later are kept too), not settings or counts. inject_ns is a setting (fingerprint).
_MEASUREMENT = re.compile(r'(_ns|_per_second|_per_msg)$|^ratio_to_')
_NOT_MEASUREMENTS = frozenset({'inject_ns'})
_PLAIN = ('real_time', 'cpu_time', 'median', 'mean')
# Sums of counters, kept under their own name: what export.py's cpu-per-message is.
DERIVED = {'cpu_ns_per_msg': ('cpu_self_ns_per_msg', 'cpu_peer_ns_per_msg')}


@dataclass
class Value:
    """One benchmark's metric in a run: the value, the bounds and how many rounds (or, with
    one round, repetitions) the bounds span."""
    value: float
    low: float
    high: float
    n: int


@dataclass
class Run:
    """A run ready to store: identity, environment, commit, time and its values."""
    digest: str
    key: str
    fingerprint: dict
    commit: str | None
    time: str                    # UTC ISO 8601, when the benchmarks started (context.date)
    end_time: str                # when the last bench.json was written
    source: str
    label: str
    suite: str
    host: str
    rounds: int
    values: dict = field(default_factory=dict)      # (benchmark, metric) -> Value
    failures: dict = field(default_factory=dict)    # benchmark -> rounds it failed in
    context: dict = field(default_factory=dict)


def digest(path: str) -> str:
    """sha256 over the bench.json files a path stands for (round by round, in order)."""
    h = hashlib.sha256()
    for f in bench_files(path):
        try:
            with open(f, 'rb') as fh:
                h.update(hashlib.sha256(fh.read()).digest())
        except OSError as err:
            raise BadInput(f'{f}: cannot read ({err.strerror})') from None
    return h.hexdigest()


def measurement_names(rs: ResultSet) -> list:
    """Every metric the run has that is a measurement, plus the aliases and sums."""
    names = set()
    for e in rs.iterations():
        names.update(k for k in e.values if _MEASUREMENT.search(k) and k not in _NOT_MEASUREMENTS)
    names.update(_PLAIN)
    names.update(d for d, parts in DERIVED.items() if all(p in names for p in parts))
    return sorted(names)


def _spread(series_list) -> Value | None:
    """Value of the sum of these Series (one, or the parts of a derived metric), aligned by
    round; None when a part is missing in a round."""
    if any(s is None or s.failures or not s.values for s in series_list):
        return None
    if len({tuple(s.rounds) for s in series_list}) != 1:
        return None
    per_round = [sum(vs) for vs in zip(*(s.values for s in series_list))]
    if len(per_round) == 1:
        reps = [sum(vs) for vs in zip(*(s.repetitions[0] for s in series_list))]
        return Value(per_round[0], min(reps), max(reps), len(reps))
    return Value(statistics.median(per_round), min(per_round), max(per_round), len(per_round))


def values_of(rs: ResultSet) -> tuple:
    """({(benchmark, metric): Value}, {benchmark: failed rounds}) of a loaded run."""
    out, failures = {}, {}
    sums = {}
    for metric in measurement_names(rs):
        parts = DERIVED.get(metric, (metric,))
        for p in parts:
            if p not in sums:
                sums[p] = rounds.summarise(rs, p)
        for key in sums[parts[0]]:
            series = [sums[p].get(key) for p in parts]
            if series[0].failures:
                failures[series[0].name] = series[0].failures
                continue
            v = _spread(series)
            if v is not None and all(math.isfinite(x) for x in (v.value, v.low, v.high)):
                out[(series[0].name, metric)] = v
    return out, failures


def _check_rounds_agree(rs: ResultSet) -> None:
    parts = rounds.rounds_of(rs)
    for part in parts[1:]:
        hard, _ = environment.compare_contexts(parts[0].context, part.context)
        if hard:
            raise BadInput(f'{part.path}: a round of another environment than {parts[0].path} '
                           '(' + '; '.join(hard) + '); add them as separate runs')


def run_key(ctx: dict) -> str:
    """The comparability key; for a file without one (and no libxxhash to compute it) a
    sha256 of its fingerprint, marked as such."""
    k = environment.key(ctx)
    if k:
        return k
    text = json.dumps(environment.fingerprint(ctx), sort_keys=True, separators=(',', ':'))
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()[:16]


def _utc(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _times(rs: ResultSet) -> tuple:
    """(start, end) of a run: its first round's context.date, and the latest of the rounds'
    dates and their files' modification times."""
    parts = rounds.rounds_of(rs)
    dates = [p.context.get('date') for p in parts if isinstance(p.context.get('date'), str)]
    mtimes = []
    for p in parts:
        try:
            mtimes.append(_utc(os.stat(p.path).st_mtime))
        except OSError:
            pass
    start = min(dates) if dates else (min(mtimes) if mtimes else _utc(0))
    end = max([start] + dates + mtimes)
    return start, end


def commit_of(ctx: dict, given: str = '') -> str | None:
    """The commit a run was built from: --commit, else context.ipcbench_commit, else None."""
    if given:
        return given
    c = ctx.get('ipcbench_commit')
    return c if isinstance(c, str) and c else None


def make_run(rs: ResultSet, commit: str = '', label: str = '') -> Run:
    """The Run to store for a loaded result folder (or folder of rounds)."""
    _check_rounds_agree(rs)
    ctx = rs.context
    values, failures = values_of(rs)
    if not values and not failures:
        raise BadInput(f'{rs.path}: no benchmark with a measurement to keep')
    start, end = _times(rs)
    cfg = ctx.get('ipcbench_config') or {}
    return Run(digest=digest(rs.path), key=run_key(ctx), fingerprint=environment.fingerprint(ctx),
               commit=commit_of(ctx, commit), time=start, end_time=end,
               source=os.path.abspath(rs.path), label=label or rs.label,
               suite=str(cfg.get('suite', '')), host=str(ctx.get('host_name', '')),
               rounds=len(rounds.rounds_of(rs)), values=values, failures=failures,
               context={k: ctx.get(k) for k in ('cpu_model', 'kernel', 'num_cpus',
                                                'build_type', 'ipcbench_version')})
