"""Runs for the history's tests, made from a real fixture run (roundsfx.py): each run is the
fixture's bench.json with a known date, commit and scale factor per benchmark, so a test knows
what the history must hold, what the gate must flag and what the bands must be."""
import contextlib
import copy
import io
import os

from reports import cli
from roundsfx import fixture_doc, write_rounds

SLEEP, FUTEX = 'pingpong/posix_shm/sleep/64', 'pingpong/posix_shm/futex/64'
COMMIT = '0123456789abcdef0123456789abcdef01234567'


def run(*argv, env=None):
    """ipcreport's command line in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = cli.main(list(argv))
            except SystemExit as e:
                rc = e.code
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return rc, out.getvalue(), err.getvalue()


def make_doc(day: int, commit=COMMIT, key=None, base='sleep20'):
    """The fixture with context.date on that day of December 2026 and the commit; `key`
    makes it a run of another environment."""
    doc = copy.deepcopy(fixture_doc(base))
    doc['context']['date'] = f'2026-12-{day:02d}T10:00:00Z'
    if commit is not None:
        doc['context']['ipcbench_commit'] = commit
    if key:
        doc['context']['comparability_key'] = key
        doc['context']['comparability'] = {'cpu_model': 'Other CPU', 'kernel': 'Linux 9.9'}
    return doc


def write_run(folder, doc, factors, rounds=1):
    """folder/bench.json (or folder/round-N/bench.json with rounds > 1), every benchmark's
    times scaled by factors.get(name, 1) (rounds: by factors[name][r] when it is a list)."""
    def factor_for(r):
        def f(name, _rep):
            v = factors.get(name, 1.0)
            return v[r] if isinstance(v, (list, tuple)) else v
        return f
    if rounds == 1:
        return write_rounds(os.path.dirname(folder) or '.', doc, [factor_for(0)],
                            names={0: os.path.basename(folder)})
    return write_rounds(folder, doc, [factor_for(r) for r in range(rounds)])


def history_of(tmp, factors_per_run, db=None, extra=(), start_day=1):
    """Writes one run per entry of factors_per_run (day start_day, start_day + 1, ...) and
    adds each to the history at db; returns (db path, [run folders])."""
    db = db or os.path.join(tmp, 'history.sqlite')
    dirs = []
    for i, factors in enumerate(factors_per_run):
        d = os.path.join(tmp, f'run-{start_day + i}')
        write_run(d, make_doc(start_day + i), factors)
        rc, out, err = run('history', 'add', d, '--db', db, *extra)
        if rc != 0:
            raise AssertionError(f'history add {d}: exit {rc}: {err}{out}')
        dirs.append(d)
    return db, dirs


# Between-run noise of known size: the factors of 8 runs (about 3% spread, none beyond +6%).
QUIET = [1.00, 1.03, 0.98, 1.02, 0.97, 1.01, 0.99, 1.04]
