"""Rounds, the gate's unit of evidence: one invocation of ipcbench (one bench.json) is one
round. Its repetitions share a process, a peer, a memory layout and a CPU state, so they are
correlated; each round is summarised by the median of its clean repetitions, and the
repetitions are kept only for the charts.
"""
from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field

from reports import metrics
from reports.load import ResultSet


@dataclass
class Series:
    """One benchmark on one side: its display name, the summary of every round it ran
    cleanly in (`values`, aligned with `rounds`, the round names) and its failed entries."""
    name: str
    values: list = field(default_factory=list)
    rounds: list = field(default_factory=list)
    repetitions: list = field(default_factory=list)   # per round, for charts
    failures: int = 0


def round_name(rs: ResultSet) -> str:
    """The name of a round: its folder (`round-3`), or the file's name."""
    path = os.path.abspath(rs.path)
    if os.path.basename(path) == 'bench.json':
        path = os.path.dirname(path)
    return os.path.basename(path)


def rounds_of(rs: ResultSet) -> list:
    """The rounds a loaded side stands for: its merged files, or itself."""
    return rs.parts or [rs]


def summarise(rs: ResultSet, metric: str) -> dict:
    """Key -> Series of `metric` (a counter, or `median` / `mean`: metrics.py): per round, the
    median of the clean repetitions. A round in which a benchmark failed counts as a failure
    of that benchmark, not as a value."""
    out = {}
    for part in rounds_of(rs):
        per, failed = {}, set()
        for e in part.entries:
            if e.run_type != 'iteration':
                continue
            out.setdefault(e.key, Series(e.name.removesuffix('/manual_time')))
            if e.error:
                failed.add(e.key)
                continue
            v = metrics.value(e, metric)
            if v is not None and math.isfinite(v):
                per.setdefault(e.key, []).append(v)
        for k in failed:
            out[k].failures += 1
        for k, reps in per.items():
            if k not in failed:
                out[k].values.append(statistics.median(reps))
                out[k].rounds.append(round_name(part))
                out[k].repetitions.append(reps)
    return out


def interleaved(base: ResultSet, new: ResultSet) -> bool:
    """Whether the two sides' rounds pair up: two or more on each side, with the same round
    names in the same order (as scripts/ci-regression writes base/round-N and new/round-N,
    run alternately so that drift on the machine hits both alike)."""
    a = [round_name(p) for p in rounds_of(base)]
    b = [round_name(p) for p in rounds_of(new)]
    return len(a) >= 2 and a == b


def pairs(b: Series, n: Series) -> tuple:
    """(base values, new values) of the rounds both sides have, in round order."""
    at = {r: v for r, v in zip(n.rounds, n.values)}
    common = [(v, at[r]) for r, v in zip(b.rounds, b.values) if r in at]
    return [x for x, _ in common], [y for _, y in common]
