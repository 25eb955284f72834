"""The results history (reports/history*.py) through ipcreport's command line: the SQLite round
trip (add, list, the same run twice kept once), what it stores per run, the gate's verdicts
when a run is added, and an unusable database as bad input."""
import json
import os
import shutil
import sqlite3
import statistics
import unittest

from historyfx import COMMIT, FUTEX, QUIET, SLEEP, history_of, make_doc, run, write_run
from roundsfx import TempDirTest, fixture_doc

from reports import history_db


def listed(db, *extra):
    rc, out, err = run('history', 'list', '--db', db, '--json', *extra)
    assert rc == 0, err
    return json.loads(out)


def widened(bench, n):
    """n copies of a fixture benchmark entry, sizes 64, 65, ...: a run of many benchmarks."""
    out = []
    for k in range(n):
        b = dict(bench)
        for f in ('name', 'run_name'):
            b[f] = b[f].replace('/64/', f'/{64 + k}/')
        b['payload_bytes'] = 64 + k
        out.append(b)
    return out


class RoundTrip(TempDirTest):
    def setUp(self):
        super().setUp()
        self.db = os.path.join(self.tmp, 'sub', 'history.sqlite')   # its folder is made

    def test_add_list_and_the_stored_values(self):
        d = os.path.join(self.tmp, 'a')
        write_run(d, make_doc(3), {})
        rc, out, err = run('history', 'add', d, '--db', self.db)
        self.assertEqual(rc, 0, err)
        self.assertIn('added run 1 (2026-12-03T10:00:00Z, commit ' + COMMIT, out)
        runs = listed(self.db)
        self.assertEqual(len(runs), 1)
        r = runs[0]
        self.assertEqual((r['time'], r['commit'], r['benchmarks'], r['failed'], r['rounds']),
                         ('2026-12-03T10:00:00Z', COMMIT, 2, 0, 1))
        self.assertRegex(r['comparability_key'], r'^[0-9a-f]{16}$')
        self.assertEqual(r['source'], os.path.abspath(d))
        # The value is the median of the repetitions, the bounds the lowest and highest.
        reps = [b['latency_p50_ns'] for b in fixture_doc('sleep20')['benchmarks']
                if b['run_type'] == 'iteration' and b['run_name'].startswith(SLEEP)]
        db = history_db.open_db(self.db)
        v = history_db.values(db, 1, 'latency_p50_ns')[(SLEEP, 'latency_p50_ns')]
        self.assertEqual((v.value, v.low, v.high, v.n),
                         (statistics.median(reps), min(reps), max(reps), len(reps)))
        metrics = {m for (_, m) in history_db.values(db, 1)}
        self.assertTrue({'median', 'mean', 'real_time', 'latency_p99_ns', 'bytes_per_second',
                         'cpu_ns_per_msg', 'cpu_self_ns_per_msg'} <= metrics, metrics)
        self.assertFalse({'iterations', 'repetitions', 'messages', 'cpu_self', 'fan',
                          'inject_ns'} & metrics)

    def test_the_same_run_twice_is_kept_once(self):
        d = os.path.join(self.tmp, 'a')
        write_run(d, make_doc(3), {})
        copy = os.path.join(self.tmp, 'copy-of-a')
        shutil.copytree(d, copy)
        for path in (d, d, copy):
            rc, out, err = run('history', 'add', path, '--db', self.db)
            self.assertEqual(rc, 0, err)
        self.assertIn('already in the history as run 1', out)
        self.assertEqual(len(listed(self.db)), 1)
        other = os.path.join(self.tmp, 'b')
        write_run(other, make_doc(3), {SLEEP: 1.01})       # one number differs: another run
        run('history', 'add', other, '--db', self.db)
        self.assertEqual([r['id'] for r in listed(self.db)], [1, 2])

    def test_rounds_are_one_run_and_the_key_separates_environments(self):
        rounds = os.path.join(self.tmp, 'rounds')
        write_run(rounds, make_doc(4), {SLEEP: [1.0, 1.2, 0.9]}, rounds=3)
        other = os.path.join(self.tmp, 'other')
        write_run(other, make_doc(5, key='feedbeef00000000'), {})
        rc, _, err = run('history', 'add', rounds, other, '--db', self.db,
                         '--commit', 'abc1234')
        self.assertEqual(rc, 0, err)
        runs = listed(self.db)
        self.assertEqual([(r['rounds'], r['commit']) for r in runs],
                         [(3, 'abc1234'), (1, 'abc1234')])
        self.assertEqual(runs[1]['comparability_key'], 'feedbeef00000000')
        self.assertNotEqual(runs[0]['comparability_key'], runs[1]['comparability_key'])
        self.assertEqual(len(listed(self.db, '--key', 'feedbeef')), 1)
        db = history_db.open_db(self.db)
        v = history_db.values(db, 1, 'real_time')[(SLEEP, 'real_time')]
        base = statistics.median(b['real_time'] * 1e3
                                 for b in fixture_doc('sleep20')['benchmarks']
                                 if b['run_type'] == 'iteration'
                                 and b['run_name'].startswith(SLEEP))
        # Median over rounds of each round's median; bounds: lowest and highest round.
        self.assertAlmostEqual(v.value / base, 1.0)
        self.assertAlmostEqual(v.low / base, 0.9)
        self.assertAlmostEqual(v.high / base, 1.2)
        self.assertEqual(v.n, 3)
        rc, out, _ = run('history', 'list', '--db', self.db)
        self.assertRegex(out, r'environment [0-9a-f]{16}: AMD EPYC, 2 CPUs, .*; 1 run\n(.*\n){2}'
                         r'\nenvironment feedbeef00000000: AMD EPYC, 2 CPUs, .*; 1 run\n')

    def test_a_failed_benchmark_is_recorded_without_values(self):
        doc = make_doc(6)
        for b in doc['benchmarks']:
            if b['run_name'].startswith(SLEEP):
                b['error_occurred'], b['error_message'] = True, 'peer died'
        d = os.path.join(self.tmp, 'failed')
        write_run(d, doc, {})
        run('history', 'add', d, '--db', self.db)
        r = listed(self.db)[0]
        self.assertEqual((r['benchmarks'], r['failed']), (1, 1))
        db = history_db.open_db(self.db)
        self.assertEqual(history_db.failures(db, 1), {SLEEP: 1})
        self.assertNotIn((SLEEP, 'median'), history_db.values(db, 1))


class GateOnAdd(TempDirTest):

    def verdicts(self, db, run_id, metric='median'):
        with sqlite3.connect(db) as c:
            return dict(c.execute('SELECT benchmark, verdict FROM verdicts WHERE run_id = ? '
                                  'AND metric = ?', (run_id, metric)))

    def test_a_slower_run_is_flagged_and_only_that_benchmark(self):
        factors = [{SLEEP: q, FUTEX: 2 - q} for q in QUIET[:6]] + [{SLEEP: 1.5}]
        db, _ = history_of(self.tmp, factors)
        self.assertEqual(self.verdicts(db, 7)[SLEEP], 'regression')
        self.assertNotEqual(self.verdicts(db, 7)[FUTEX], 'regression')
        self.assertNotIn('regression', self.verdicts(db, 6).values())
        # The tail metric is judged too, with its own threshold.
        self.assertEqual(self.verdicts(db, 7, 'latency_p99_ns')[SLEEP], 'regression')
        with sqlite3.connect(db) as c:
            change, n = c.execute("SELECT change, baseline_runs FROM verdicts WHERE run_id = 7 "
                                  "AND benchmark = ? AND metric = 'median'", (SLEEP,)).fetchone()
        self.assertEqual(n, 6)
        self.assertAlmostEqual(change, 1.5 / statistics.geometric_mean(QUIET[:6]) - 1, places=2)
        self.assertEqual([r['regressions'] for r in listed(db)], [0] * 6 + [1])

    def test_faster_is_an_improvement_and_the_window_bounds_the_baseline(self):
        factors = [{SLEEP: q} for q in QUIET[:5]] + [{SLEEP: 0.6}]
        db, _ = history_of(self.tmp, factors, extra=('--window', '3'))
        self.assertEqual(self.verdicts(db, 6)[SLEEP], 'improvement')
        with sqlite3.connect(db) as c:
            self.assertEqual(c.execute('SELECT DISTINCT baseline_runs FROM verdicts WHERE '
                                       'run_id = 6').fetchall(), [(3,)])

    def test_nothing_is_judged_before_two_earlier_runs(self):
        db, _ = history_of(self.tmp, [{}, {SLEEP: 3.0}])
        self.assertEqual(self.verdicts(db, 1), {})
        self.assertEqual(set(self.verdicts(db, 2).values()), {'inconclusive'})

    def test_few_runs_of_many_noisy_benchmarks_are_too_noisy_not_an_error(self):
        # Two earlier runs and one new: 1 degree of freedom, Holm over 80 benchmarks puts
        # the t quantile near 1000, and a noisy benchmark's detectable change beyond what
        # a float holds (this was an OverflowError on 3 real quick runs).
        doc = make_doc(1)
        doc['benchmarks'] = [many for b in doc['benchmarks'] for many in widened(b, 40)]
        for day, f in ((1, 1.0), (2, 3.0), (3, 1.5)):
            d = os.path.join(self.tmp, f'run-{day}')
            doc['context']['date'] = f'2026-12-{day:02d}T10:00:00Z'
            write_run(d, doc, {SLEEP: f})
            rc, out, err = run('history', 'add', d, '--db', os.path.join(self.tmp, 'h.sqlite'))
            self.assertEqual(rc, 0, err)
        self.assertIn('80 judged', out)
        v = self.verdicts(os.path.join(self.tmp, 'h.sqlite'), 3)
        self.assertEqual(len(v), 80)
        self.assertEqual(v[SLEEP], 'too noisy')
        with sqlite3.connect(os.path.join(self.tmp, 'h.sqlite')) as c:
            self.assertEqual(c.execute("SELECT detectable, reason FROM verdicts WHERE run_id = 3 "
                                       "AND benchmark = ? AND metric = 'median'",
                                       (SLEEP,)).fetchone(),
                             (None, 'to gate at 1 round: detects >+1000% or more, threshold 5%'))

    def test_runs_before_of_one_exact_value_are_no_noise_estimate(self):
        # Percentiles come from histogram buckets: two runs can agree exactly. A change
        # after them is inconclusive; with any spread before it, the same change is judged.
        db, _ = history_of(self.tmp, [{}, {}, {SLEEP: 1.5}])
        self.assertEqual(self.verdicts(db, 3)[SLEEP], 'inconclusive')
        with sqlite3.connect(db) as c:
            reason, = c.execute("SELECT reason FROM verdicts WHERE run_id = 3 AND benchmark = ? "
                                "AND metric = 'median'", (SLEEP,)).fetchone()
        self.assertIn('the 2 runs before have exactly the same value', reason)
        db2, _ = history_of(os.path.join(self.tmp, 'spread'), [{SLEEP: q} for q in QUIET[:4]]
                            + [{SLEEP: 1.5}])
        self.assertEqual(self.verdicts(db2, 5)[SLEEP], 'regression')

    def test_runs_of_another_environment_are_not_a_baseline(self):
        db, _ = history_of(self.tmp, [{SLEEP: q} for q in QUIET[:4]])
        d = os.path.join(self.tmp, 'other')
        write_run(d, make_doc(20, key='feedbeef00000000'), {SLEEP: 3.0})
        rc, out, _ = run('history', 'add', d, '--db', db)
        self.assertEqual(rc, 0)
        self.assertIn('not judged, no earlier run of this environment', out)
        self.assertEqual(self.verdicts(db, 5), {})


class BadInput(TempDirTest):

    def test_unusable_databases_are_exit_2_with_one_line(self):
        text = os.path.join(self.tmp, 'notes.txt')
        with open(text, 'w') as f:
            f.write('this is not a database\n' * 100)
        cases = {os.path.join(self.tmp, 'none.sqlite'): 'no history here',
                 text: 'not a usable history database'}
        empty = os.path.join(self.tmp, 'other.sqlite')
        sqlite3.connect(empty).execute('CREATE TABLE t (x)').connection.close()
        cases[empty] = 'an SQLite file without ipcbench history tables'
        newer = os.path.join(self.tmp, 'newer.sqlite')
        history_db.open_db(newer, create=True).execute(
            "UPDATE meta SET value = '99' WHERE name = 'schema_version'").connection.commit()
        cases[newer] = 'history schema version 99, newer than this ipcreport reads (1)'
        for path, why in cases.items():
            for argv in (('history', 'list', '--db', path), ('trend', '--db', path)):
                rc, out, err = run(*argv)
                self.assertEqual(rc, 2, (argv, out, err))
                self.assertIn(why, err)
                self.assertEqual(err.count('\n'), 1, err)

    def test_a_bad_result_folder_adds_nothing(self):
        good = os.path.join(self.tmp, 'good')
        write_run(good, make_doc(1), {})
        bad = os.path.join(self.tmp, 'bad')
        os.makedirs(bad)
        with open(os.path.join(bad, 'bench.json'), 'w') as f:
            f.write('{"context": {')
        db = os.path.join(self.tmp, 'h.sqlite')
        rc, _, err = run('history', 'add', good, bad, '--db', db)
        self.assertEqual(rc, 2)
        self.assertIn('not valid JSON', err)
        self.assertFalse(os.path.exists(db), 'every input is read before the database')

    def test_a_window_of_one_run_is_refused(self):
        rc, _, err = run('history', 'add', self.tmp, '--window', '1')
        self.assertEqual(rc, 2)
        self.assertIn('the window needs 2 runs or more', err)


if __name__ == '__main__':
    unittest.main()
