"""The results history: one SQLite file (default results/history.sqlite) of runs keyed by
their comparability key, commit and time, each with its values per benchmark and metric, the
benchmarks that failed, the gate's verdicts when the run was added, and the pushes to Bencher.
A run is identified by the digest of its bench.json files: adding it again changes nothing.
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass

from reports.history import Run, Value
from reports.load import BadInput

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  digest TEXT NOT NULL UNIQUE,        -- sha256 of its bench.json files: the run's identity
  comparability_key TEXT NOT NULL,    -- context.comparability_key: runs of one key compare
  fingerprint TEXT NOT NULL,          -- context.comparability (JSON)
  commit_hash TEXT,                   -- context.ipcbench_commit (or --commit); NULL: unknown
  time TEXT NOT NULL,                 -- UTC ISO 8601: when its benchmarks started
  end_time TEXT NOT NULL,
  added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  source TEXT NOT NULL, label TEXT NOT NULL, suite TEXT NOT NULL, host TEXT NOT NULL,
  rounds INTEGER NOT NULL,
  context TEXT NOT NULL               -- CPU, kernel, build (JSON), for titles
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (comparability_key, time, id);
CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS results (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  benchmark INTEGER NOT NULL REFERENCES names (id),
  metric INTEGER NOT NULL REFERENCES names (id),
  value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (run_id, benchmark, metric)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failures (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  benchmark TEXT NOT NULL, rounds INTEGER NOT NULL, PRIMARY KEY (run_id, benchmark));
CREATE TABLE IF NOT EXISTS verdicts (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  benchmark TEXT NOT NULL, metric TEXT NOT NULL,
  verdict TEXT NOT NULL,              -- gate.py: regression, improvement, unchanged, ...
  change REAL, ci_low REAL, ci_high REAL, p_adjusted REAL, detectable REAL,
  baseline_runs INTEGER NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (run_id, benchmark, metric));
CREATE TABLE IF NOT EXISTS pushes (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  target TEXT NOT NULL,               -- host, project, branch and testbed it went to
  time TEXT NOT NULL, report TEXT NOT NULL, PRIMARY KEY (run_id, target));
"""


@dataclass
class RunRow:
    """A stored run, as list and trend read it."""
    id: int
    digest: str
    key: str
    commit: str | None
    time: str
    end_time: str
    source: str
    label: str
    suite: str
    host: str
    rounds: int
    context: dict
    fingerprint: dict


def default_path() -> str:
    """$IPCBENCH_HISTORY, else history.sqlite in $IPCBENCH_RESULTS_DIR (else results/), the
    folder scripts/bench writes its runs to."""
    if os.environ.get('IPCBENCH_HISTORY'):
        return os.environ['IPCBENCH_HISTORY']
    return os.path.join(os.environ.get('IPCBENCH_RESULTS_DIR') or 'results', 'history.sqlite')


def _fail(path: str, err: Exception) -> BadInput:
    return BadInput(f'{path}: not a usable history database ({err})')


def open_db(path: str, create: bool = False) -> sqlite3.Connection:
    """Opens (with create, makes) the history at path. Raises BadInput for a missing file
    (without create), a file that is not SQLite, or a schema newer than this ipcreport's."""
    if not create and not os.path.isfile(path):
        raise BadInput(f'{path}: no history here (ipcbench history add RESULT_DIR makes it; '
                       '--db or $IPCBENCH_HISTORY name another)')
    if create:
        parent = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as err:
            raise BadInput(f'{parent}: cannot create ({err.strerror})') from None
    try:
        db = sqlite3.connect(path, timeout=30)
        db.execute('PRAGMA foreign_keys = ON')
        row = db.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
        if row:
            v = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
            if v is None or int(v[0]) > SCHEMA_VERSION:
                raise BadInput(f'{path}: history schema version {v and v[0]}, newer than this '
                               f'ipcreport reads ({SCHEMA_VERSION})')
        elif create:
            with db:
                db.executescript(_SCHEMA)
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        else:
            raise BadInput(f'{path}: an SQLite file without ipcbench history tables')
    except sqlite3.Error as err:
        raise _fail(path, err) from None
    return db


def _name_ids(db, names) -> dict:
    db.executemany('INSERT OR IGNORE INTO names (name) VALUES (?)', [(n,) for n in names])
    out = {}
    for n in names:
        out[n] = db.execute('SELECT id FROM names WHERE name = ?', (n,)).fetchone()[0]
    return out


def find_digest(db, digest: str) -> int | None:
    row = db.execute('SELECT id FROM runs WHERE digest = ?', (digest,)).fetchone()
    return row[0] if row else None


def insert_run(db, run: Run) -> int:
    """Stores a run (in the caller's transaction) and returns its id."""
    cur = db.execute(
        'INSERT INTO runs (digest, comparability_key, fingerprint, commit_hash, time, end_time, '
        'source, label, suite, host, rounds, context) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
        (run.digest, run.key, json.dumps(run.fingerprint, sort_keys=True), run.commit, run.time,
         run.end_time, run.source, run.label, run.suite, run.host, run.rounds,
         json.dumps(run.context, sort_keys=True)))
    rid = cur.lastrowid
    ids = _name_ids(db, sorted({b for b, _ in run.values} | {m for _, m in run.values}))
    db.executemany('INSERT INTO results VALUES (?,?,?,?,?,?,?)',
                   [(rid, ids[b], ids[m], v.value, v.low, v.high, v.n)
                    for (b, m), v in sorted(run.values.items())])
    db.executemany('INSERT INTO failures VALUES (?,?,?)',
                   [(rid, b, n) for b, n in sorted(run.failures.items())])
    return rid


def insert_verdicts(db, run_id: int, rows: list) -> None:
    """rows: (benchmark, metric, verdict, change, ci_low, ci_high, p, detectable, n, reason)."""
    db.executemany('INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?,?,?,?,?,?,?)',
                   [(run_id, *r) for r in rows])


_RUN_COLS = ('id, digest, comparability_key, commit_hash, time, end_time, source, label, suite, '
             'host, rounds, context, fingerprint')


def _run_row(r) -> RunRow:
    return RunRow(*r[:11], context=json.loads(r[11]), fingerprint=json.loads(r[12]))


def runs(db, key: str | None = None) -> list:
    """Stored runs in time order (then the order they were added), of one key or all."""
    q = f'SELECT {_RUN_COLS} FROM runs'
    args = ()
    if key:
        q += ' WHERE comparability_key = ?'
        args = (key,)
    return [_run_row(r) for r in db.execute(q + ' ORDER BY time, id', args)]


def run_by_id(db, run_id: int) -> RunRow:
    r = db.execute(f'SELECT {_RUN_COLS} FROM runs WHERE id = ?', (run_id,)).fetchone()
    if r is None:
        raise BadInput(f'no run {run_id} in the history (ipcbench history list shows them)')
    return _run_row(r)


def _of_run(db, query: str, run_id: int, metric_column: str, metric: str | None):
    """The rows of `query` (which ends in WHERE run_id = ?) for one run, of one metric or all."""
    args = [run_id]
    if metric:
        query += f' AND {metric_column} = ?'
        args.append(metric)
    return db.execute(query, args)


def values(db, run_id: int, metric: str | None = None) -> dict:
    """(benchmark, metric) -> Value of one run, of one metric or all."""
    q = ('SELECT b.name, m.name, value, low, high, n FROM results '
         'JOIN names b ON b.id = benchmark JOIN names m ON m.id = metric WHERE run_id = ?')
    rows = _of_run(db, q, run_id, 'm.name', metric)
    return {(b, m): Value(v, lo, hi, n) for b, m, v, lo, hi, n in rows}


def failures(db, run_id: int) -> dict:
    return dict(db.execute('SELECT benchmark, rounds FROM failures WHERE run_id = ?', (run_id,)))


def verdicts(db, run_id: int, metric: str | None = None) -> dict:
    """(benchmark, metric) -> dict of the gate's verdict on this run when it was added."""
    q = ('SELECT benchmark, metric, verdict, change, ci_low, ci_high, p_adjusted, detectable, '
         'baseline_runs, reason FROM verdicts WHERE run_id = ?')
    cols = ('verdict', 'change', 'ci_low', 'ci_high', 'p_adjusted', 'detectable',
            'baseline_runs', 'reason')
    return {(r[0], r[1]): dict(zip(cols, r[2:])) for r in _of_run(db, q, run_id, 'metric', metric)}


def counts(db, run_id: int) -> tuple:
    """(benchmarks with values, failed benchmarks, benchmarks the gate flagged as a regression
    in any metric)."""
    b = db.execute('SELECT COUNT(DISTINCT benchmark) FROM results WHERE run_id = ?',
                   (run_id,)).fetchone()[0]
    f = db.execute('SELECT COUNT(*) FROM failures WHERE run_id = ?', (run_id,)).fetchone()[0]
    r = db.execute("SELECT COUNT(DISTINCT benchmark) FROM verdicts WHERE run_id = ? AND "
                   "verdict = 'regression'", (run_id,)).fetchone()[0]
    return b, f, r


def pushed(db, run_id: int, target: str) -> bool:
    return db.execute('SELECT 1 FROM pushes WHERE run_id = ? AND target = ?',
                      (run_id, target)).fetchone() is not None


def record_push(db, run_id: int, target: str, time: str, report: str) -> None:
    with db:
        db.execute('INSERT OR REPLACE INTO pushes VALUES (?,?,?,?)', (run_id, target, time, report))
