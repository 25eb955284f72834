"""`compare` through its command line on fixture runs: verdicts, exit codes, bad input, the
Markdown it prints, environment warnings, benchmarks present on one side only."""
import contextlib
import importlib.util
import io
import json
import os
import shutil
import tempfile
import unittest

import numpy as np

from reports import cli, stats

FX = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(['compare', *argv])
        except SystemExit as e:          # argparse errors
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


class Compare(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def edited(self, name, edit):
        """A copy of fixture `name` with edit(doc) applied."""
        with open(os.path.join(FX, name, 'bench.json')) as f:
            doc = json.load(f)
        edit(doc)
        path = os.path.join(self.tmp, f'{name}-{len(os.listdir(self.tmp))}.json')
        with open(path, 'w') as f:
            json.dump(doc, f)
        return path

    def test_regression_named(self):
        rc, out, _ = run(f'{FX}/sleep20', f'{FX}/sleep200')
        self.assertEqual(rc, 1)
        self.assertIn('## ipcbench compare: 1 regression', out)
        self.assertRegex(out, r'\| `pingpong/posix_shm/sleep/64` \|.*\*\*regression\*\* \|')
        self.assertRegex(out, r'\| `pingpong/posix_shm/futex/64` \|.* unchanged')
        self.assertIn('sleep_us 20 (base) vs 200 (new)', out)

    def test_same_file_and_reverse(self):
        self.assertEqual(run(f'{FX}/sleep20', f'{FX}/sleep20')[0], 0)
        rc, out, _ = run(f'{FX}/sleep200', f'{FX}/sleep20')
        self.assertEqual(rc, 0)
        self.assertIn('| improvement', out)

    def test_counter_metric_and_direction(self):
        rc, out, _ = run(f'{FX}/sleep20', f'{FX}/sleep200', '--metric', 'latency_p99_ns')
        self.assertEqual(rc, 1)
        rc, out, _ = run(f'{FX}/sleep20', f'{FX}/sleep200', '--metric', 'items_per_second')
        self.assertEqual(rc, 1, 'fewer items per second is worse')
        self.assertIn('higher is better', out)

    def test_threshold_and_alpha(self):
        self.assertEqual(run(f'{FX}/sleep20', f'{FX}/sleep200', '--threshold', '300%')[0], 0)
        self.assertEqual(run(f'{FX}/sleep20', f'{FX}/sleep200', '--threshold', 'x')[0], 2)
        rc, _, err = run(f'{FX}/sleep20', f'{FX}/sleep200', '--alpha', '0.001')
        self.assertEqual(rc, 2)
        self.assertIn('too few repetitions', err)
        self.assertIn('over 2 benchmarks (Holm), each side needs at least 8', err)

    def test_bad_input(self):
        rc, out, err = run(f'{FX}/sleep20', os.path.join(self.tmp, 'nope'))
        self.assertEqual((rc, out), (2, ''))
        self.assertIn('no such file', err)
        rc, _, err = run(f'{FX}/sizes', f'{FX}/sizes')
        self.assertEqual(rc, 2)
        self.assertIn('too few repetitions', err)
        self.assertIn('--repetitions', err)
        rc, _, err = run(f'{FX}/sleep20', f'{FX}/fan4')
        self.assertEqual(rc, 2)
        self.assertIn('no benchmark in common', err)
        rc, _, err = run(f'{FX}/sleep20', f'{FX}/sleep200', '--metric', 'no_such_counter')
        self.assertEqual(rc, 2)
        self.assertIn('no_such_counter', err)

    def test_one_side_only_is_listed_not_failed(self):
        def drop_futex(doc):
            doc['benchmarks'] = [b for b in doc['benchmarks'] if '/futex/' not in b['name']]
        rc, out, _ = run(f'{FX}/sleep20', self.edited('sleep20', drop_futex))
        self.assertEqual(rc, 0)
        self.assertIn('Only in base (not compared): `pingpong/posix_shm/futex/64`', out)

    def test_failure_in_new_fails(self):
        def fail_futex(doc):
            for b in doc['benchmarks']:
                if '/futex/' in b['name'] and b['run_type'] == 'iteration':
                    b.update(error_occurred=True, error_message='checksum mismatch')
        rc, out, _ = run(f'{FX}/sleep20', self.edited('sleep20', fail_futex))
        self.assertEqual(rc, 1)
        self.assertIn('failed in new', out)

    def test_environment_difference_is_a_warning(self):
        def other_kernel(doc):
            doc['context']['kernel'] = 'Linux 1.0'
            doc['context']['build_type'] = 'Debug'
        rc, out, err = run(f'{FX}/sleep20', self.edited('sleep20', other_kernel))
        self.assertEqual(rc, 0)
        self.assertIn('warning: environment differs: kernel', err)
        self.assertIn('> **Warning:** environment differs: build_type', out)

    def test_output_file(self):
        path = os.path.join(self.tmp, 'compare.md')
        rc, out, _ = run(f'{FX}/sleep20', f'{FX}/sleep200', '--output', path)
        with open(path) as f:
            self.assertEqual(f.read(), out)


class Statistics(unittest.TestCase):
    def test_exact_u_distribution(self):
        self.assertEqual(stats.u_counts(2, 2), (1, 1, 2, 1, 1))
        self.assertEqual(sum(stats.u_counts(10, 12)), 646646)   # C(22, 10)
        self.assertEqual(stats.critical_rank(20, 20, 0.05), 128)  # table: U crit 127
        self.assertEqual(stats.min_repetitions(0.05), 4)

    def test_interval_contains_the_shift(self):
        base = [100, 102, 98, 101, 99, 103, 97, 100]
        new = [x * 1.2 for x in base]
        change, low, high = stats.shift_estimate(base, new, 0.05)
        self.assertAlmostEqual(change, 0.2, places=6)
        self.assertLessEqual(low, 0.2)
        self.assertGreaterEqual(high, 0.2)

    @unittest.skipUnless(importlib.util.find_spec('scipy'), 'scipy not installed')
    def test_u_test_matches_scipy(self):
        from scipy import stats as sps
        rng = np.random.default_rng(3)
        for i in range(400):
            n, m = int(rng.integers(2, 30)), int(rng.integers(2, 30))
            a, b = rng.lognormal(0, 0.05, n), rng.lognormal(0.02, 0.05, m)
            if i % 2:                     # ties, as latency percentiles from a histogram have
                a, b = np.round(a, 2), np.round(b, 2)
            ties = len(np.unique(np.r_[a, b])) < n + m
            method = 'asymptotic' if ties or n * m > 2500 else 'exact'
            ref = sps.mannwhitneyu(a, b, alternative='two-sided', method=method).pvalue
            self.assertAlmostEqual(stats.u_test(a, b), ref, places=12)

    def test_holm(self):
        self.assertEqual(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])


if __name__ == '__main__':
    unittest.main()
