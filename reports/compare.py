"""`compare BASE NEW`: matches benchmarks by name, refuses runs whose environments differ,
judges each benchmark across rounds (gate.py) and collects what the table shows. Exit
codes: 0 no regression, 1 at least one regression (or a benchmark failing only in NEW),
2 bad input.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from reports import calibration, environment, gate, rounds
from reports.load import BadInput, ResultSet

FAILED_NEW, FAILED_BASE, NOT_JUDGED = 'failed in new', 'failed in base', 'not judged'


@dataclass
class Row:
    """One benchmark in the comparison; `judgement` is None when it could not be judged."""
    name: str
    judgement: gate.Judgement | None = None
    verdict: str = ''
    note: str = ''


@dataclass
class Outcome:
    rows: list
    only_base: list
    only_new: list
    paired: bool = False
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def failed(self) -> list:
        return [r for r in self.rows if r.verdict in (gate.REGRESSION, FAILED_NEW)]


def check_environment(base: ResultSet, new: ResultSet, allow: str) -> tuple:
    """(warnings, notes). Raises BadInput when the fingerprints differ in what moves the
    numbers, unless allowed ('all', or comma-separated field names); rounds within one
    side must agree with each other."""
    warnings, notes = [], []
    for side, rs in (('base', base), ('new', new)):
        parts = rounds.rounds_of(rs)
        for part in parts[1:]:
            hard, _ = environment.compare_contexts(parts[0].context, part.context)
            if hard:
                raise BadInput(f'{side}: round {part.path} differs from {parts[0].path}: '
                               + '; '.join(hard))
    hard, soft = environment.compare_contexts(base.context, new.context)
    notes += [f'setting differs: {d} (base vs new)' for d in soft]
    allowed = set(allow.split(','))
    refused = [d for d in hard if 'all' not in allowed and d.split(' ')[0] not in allowed]
    if refused:
        raise BadInput('base and new ran in different environments, so their numbers are '
                       'not comparable: ' + '; '.join(refused) + ' (--allow-env-mismatch to '
                       'compare them anyway)')
    warnings += [f'environment differs: {d} (base vs new)' for d in hard]
    for side, rs in (('base', base), ('new', new)):
        if environment.injected(rs.context):
            warnings.append(f'{side} ran with --inject-ns {environment.injected(rs.context)}: '
                            'a deliberate slowdown, not a normal run')
    return warnings, notes


def usable_calibration(doc, base: ResultSet) -> tuple:
    """(calibration or None, note): a calibration is used only for BASE's environment."""
    if not doc:
        return None, ''
    why = calibration.applies(doc, base.context)
    if why:
        return None, 'calibration not used, it is of another environment: ' + '; '.join(why)
    return doc, ''


def compare(base: ResultSet, new: ResultSet, opts: gate.Options,
            allow_mismatch: str = '') -> Outcome:
    """Judges every benchmark present in both. Raises BadInput when nothing can be judged
    (no benchmark in common, the metric in neither) or the environments differ."""
    warnings, notes = check_environment(base, new, allow_mismatch)
    opts.calibration, cal_note = usable_calibration(opts.calibration, base)
    notes += [cal_note] if cal_note else []
    bs, ns = rounds.summarise(base, opts.metric), rounds.summarise(new, opts.metric)
    common = sorted(set(bs) & set(ns))
    if not common:
        raise BadInput(f'no benchmark in common between {base.path} ({len(bs)} benchmarks) '
                       f'and {new.path} ({len(ns)} benchmarks)')
    if not any(bs[k].values or ns[k].values for k in common):
        raise BadInput(f'metric "{opts.metric}" is in no benchmark of either side '
                       '(median, mean, real_time, cpu_time or a counter such as latency_p99_ns)')
    paired = rounds.interleaved(base, new)
    rows, to_judge = [], []
    for k in common:
        b, n = bs[k], ns[k]
        row = Row(name=b.name)
        if n.failures:
            row.verdict, row.note = FAILED_NEW, f'failed in {n.failures} round(s) of new'
        elif b.failures:
            row.verdict, row.note = FAILED_BASE, f'failed in {b.failures} round(s) of base'
        elif not b.values or not n.values:
            row.verdict, row.note = NOT_JUDGED, f'no {opts.metric} on one side'
        else:
            to_judge.append((row, b, n))
        rows.append(row)
    for (row, _, _), j in zip(to_judge, gate.judge_all([(b, n) for _, b, n in to_judge],
                                                       paired, opts)):
        row.judgement, row.verdict, row.note = j, j.verdict, j.reason
    return Outcome(rows=rows, only_base=[bs[k].name for k in sorted(set(bs) - set(ns))],
                   only_new=[ns[k].name for k in sorted(set(ns) - set(bs))], paired=paired,
                   warnings=warnings, notes=notes)
