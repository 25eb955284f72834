"""`compare` through its command line: rounds as the unit (paired when interleaved, pooled
when not), one round per side inconclusive unless calibrated, too-noisy benchmarks, the tail
rule, the environment fingerprint, exit codes and the Markdown. Rounds are made from a real
fixture run scaled by known factors (roundsfx.py)."""
import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import unittest

import numpy as np

from reports import cli, environment, stats
from roundsfx import FX, TempDirTest, fixture_doc, noisy, write_rounds

SLEEP, FUTEX = 'pingpong/posix_shm/sleep/64', 'pingpong/posix_shm/futex/64'


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(['compare', *argv])
        except SystemExit as e:          # argparse errors
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def verdicts(markdown):
    rows = re.findall(r'^\| `([^`]+)` \|.*\| ([^|]+) \|$', markdown, re.M)
    return {name: verdict.strip() for name, verdict in rows}


class Compare(TempDirTest):
    def setUp(self):
        super().setUp()
        self.doc = fixture_doc('sleep20')

    def sides(self, base_factors, new_factors, new_names=None, doc=None):
        b = write_rounds(os.path.join(self.tmp, 'base'), doc or self.doc, base_factors)
        n = write_rounds(os.path.join(self.tmp, 'new'), doc or self.doc, new_factors, new_names)
        return b, n

    def test_one_round_per_side_is_inconclusive(self):
        rc, out, _ = run(f'{FX}/sleep20', f'{FX}/sleep200', '--allow-env-mismatch')
        self.assertEqual(rc, 0, 'no exit 1 without knowing the noise between runs')
        self.assertIn('## ipcbench compare: inconclusive (1 round per side)', out)
        self.assertIn('inconclusive (1 round per side; run scripts/ci-regression', out)

    def test_one_round_per_side_with_calibration(self):
        fp = environment.fingerprint(self.doc['context'])
        cal = {'ipcbench_calibration': 1, 'comparability_key': '', 'comparability': fp,
               'settings': {'rounds': 12, 'alpha': 0.05, 'power': 0.8, 'benchmarks': 2},
               'benchmarks': {n: {'median': {'rounds': 12, 'sigma_pair': 0.03, 'df': 11,
                                             'sigma_round': 0.02, 'detectable': 0.1}}
                              for n in (SLEEP, FUTEX)}}
        path = os.path.join(self.tmp, 'cal.json')
        with open(path, 'w') as f:
            json.dump(cal, f)
        rc, out, _ = run(f'{FX}/sleep20', f'{FX}/sleep200', '--allow-env-mismatch',
                         '--calibration', path)
        # One round per side never fails the gate; beyond the calibrated noise it is named.
        self.assertEqual(rc, 0, out)
        self.assertIn('possible regression', verdicts(out)[SLEEP])
        # (The futex row of these two runs differs by +48%: noise between runs, which is why.)
        self.assertIn("against this runner's calibrated noise", out)
        cal['comparability']['kernel'] = 'Linux 0.1'
        with open(path, 'w') as f:
            json.dump(cal, f)
        rc, out, _ = run(f'{FX}/sleep20', f'{FX}/sleep200', '--allow-env-mismatch',
                         '--calibration', path)
        self.assertEqual(rc, 0)
        self.assertIn('calibration not used, it is of another environment: kernel', out)

    def test_default_metric_is_the_median(self):
        # NEW's mean round trip (real_time) triples: a few preempted round trips, the median
        # one-way latency unchanged. The default (median) stays green; --metric mean flags it.
        new = json.loads(json.dumps(self.doc))
        for b in new['benchmarks']:
            if b['run_type'] == 'iteration' and b['run_name'].startswith(SLEEP):
                b['real_time'] *= 3
        rounds = noisy(5, 6, 0.01)
        b = write_rounds(os.path.join(self.tmp, 'base'), self.doc, rounds)
        n = write_rounds(os.path.join(self.tmp, 'new'), new, rounds)
        rc, out, _ = run(b, n)
        self.assertEqual(rc, 0, out)
        self.assertIn('Metric median (pingpong: p50 one-way latency', out)
        self.assertEqual(verdicts(out)[SLEEP], 'unchanged (not significant)')
        rc, out, _ = run(b, n, '--metric', 'mean')
        self.assertEqual(rc, 1, out)
        self.assertEqual(verdicts(out)[SLEEP], '**regression**')
        self.assertRegex(out, rf'\| `{SLEEP}` \| [\d.]+ µs \| [\d.]+ µs \| \+200\.0%')
        self.assertNotEqual(verdicts(out)[FUTEX], '**regression**')

    def test_interleaved_aa_is_green_and_a_shift_is_caught(self):
        b, n = self.sides(noisy(1, 8, 0.02), noisy(2, 8, 0.02))
        rc, out, _ = run(b, n)
        self.assertEqual(rc, 0, out)
        self.assertIn('paired t test', out)
        b, n = self.sides(noisy(3, 8, 0.02), noisy(4, 8, 0.02, shift={FUTEX: 1.25}))
        rc, out, _ = run(b, n)
        self.assertEqual(rc, 1, out)
        v = verdicts(out)
        self.assertIn('regression', v[FUTEX])
        self.assertTrue(v[SLEEP].startswith('unchanged'), v[SLEEP])
        rc, out, _ = run(n, b)
        self.assertEqual(rc, 0)
        self.assertTrue(verdicts(out)[FUTEX].startswith('improvement'))

    def test_rounds_not_interleaved_are_pooled(self):
        names = {i: f'run-{i}' for i in range(6)}
        b, n = self.sides(noisy(5, 6, 0.02), noisy(6, 6, 0.02, shift={FUTEX: 1.3}), names)
        rc, out, _ = run(b, n)
        self.assertEqual(rc, 1, out)
        self.assertIn('two-sample t test', out)

    def test_too_noisy_to_gate(self):
        b, n = self.sides(noisy(7, 6, 0.02, sigma_of={SLEEP: 0.3}),
                          noisy(8, 6, 0.02, sigma_of={SLEEP: 0.3}, shift={SLEEP: 1.1}))
        rc, out, _ = run(b, n)
        self.assertEqual(rc, 0, out)
        self.assertRegex(verdicts(out)[SLEEP], r'^too noisy \(to gate at 6 rounds: detects '
                                               r'\+\d+\.\d% or more, threshold 5%\)')

    def test_tail_metric_has_its_own_threshold(self):
        b, n = self.sides(noisy(9, 8, 0.01), noisy(10, 8, 0.01, shift={FUTEX: 1.15}))
        rc, out, _ = run(b, n, '--metric', 'latency_p99_ns')
        self.assertEqual(rc, 0, out)
        self.assertIn('worse than 25%', out)
        self.assertEqual(verdicts(out)[FUTEX], 'unchanged (below threshold)')
        self.assertEqual(run(b, n, '--metric', 'latency_p50_ns')[0], 1)
        rc, out, _ = run(b, n, '--metric', 'items_per_second')
        self.assertEqual(rc, 1, 'fewer items per second is worse')
        self.assertIn('higher is better', out)

    def test_environment_fingerprint(self):
        other = fixture_doc('sleep20')
        other['context']['kernel'] = 'Linux 1.0'
        b, _ = self.sides(noisy(11, 4, 0.02), noisy(12, 4, 0.02))
        n = write_rounds(os.path.join(self.tmp, 'other'), other, noisy(12, 4, 0.02))
        rc, out, err = run(b, n)
        self.assertEqual((rc, out), (2, ''))
        self.assertIn('different environments', err)
        self.assertIn('kernel Linux', err)
        self.assertEqual(run(b, n, '--allow-env-mismatch=sleep_us')[0], 2)
        rc, out, err = run(b, n, '--allow-env-mismatch=kernel')
        self.assertEqual(rc, 0, err)
        self.assertIn('> **Warning:** environment differs: kernel', out)
        shutil.copy(os.path.join(n, 'round-1', 'bench.json'), os.path.join(b, 'round-2'))
        rc, _, err = run(b, b)
        self.assertEqual(rc, 2)
        self.assertIn('base: round', err)

    def test_failure_in_new_fails_and_one_side_only_is_listed(self):
        def fail_futex(doc):
            for x in doc['benchmarks']:
                if '/futex/' in x['name'] and x['run_type'] == 'iteration':
                    x.update(error_occurred=True, error_message='checksum mismatch')
        broken = fixture_doc('sleep20')
        fail_futex(broken)
        b, _ = self.sides(noisy(13, 3, 0.02), noisy(14, 3, 0.02))
        n = write_rounds(os.path.join(self.tmp, 'broken'), broken, noisy(14, 3, 0.02))
        rc, out, _ = run(b, n)
        self.assertEqual(rc, 1)
        self.assertIn('failed in new', out)
        alone = fixture_doc('sleep20')
        alone['benchmarks'] = [x for x in alone['benchmarks'] if '/futex/' not in x['name']]
        n = write_rounds(os.path.join(self.tmp, 'alone'), alone, noisy(14, 3, 0.02))
        rc, out, _ = run(b, n)
        self.assertEqual(rc, 0)
        self.assertIn(f'Only in base (not compared): `{FUTEX}`', out)

    def test_output_file_and_bad_metric(self):
        b, n = self.sides(noisy(15, 3, 0.02), noisy(16, 3, 0.02))
        path = os.path.join(self.tmp, 'compare.md')
        rc, out, _ = run(b, n, '--output', path)
        with open(path) as f:
            self.assertEqual(f.read(), out)
        rc, _, err = run(b, n, '--metric', 'no_such_counter')
        self.assertEqual(rc, 2)
        self.assertIn('no_such_counter', err)


class Statistics(unittest.TestCase):
    @unittest.skipUnless(importlib.util.find_spec('scipy'), 'scipy not installed')
    def test_t_distribution_matches_scipy(self):
        from scipy import stats as sps
        for df in (1, 2, 5, 11, 40):
            for t in (0.1, 1.0, 2.5, 6.0, 20.0):
                self.assertAlmostEqual(stats.t_two_sided(t, df) / (2 * sps.t.sf(t, df)), 1, 7)
            for q in (0.2, 0.8, 0.975, 0.99995):
                self.assertAlmostEqual(stats.t_quantile(q, df) / sps.t.ppf(q, df), 1, 8)
        rng = np.random.default_rng(5)
        a, b = rng.normal(0, 1, 7), rng.normal(0.5, 1, 5)
        self.assertAlmostEqual(stats.pooled_test(a, b, 0.05).p_value,
                               sps.ttest_ind(b, a).pvalue, 9)
        self.assertAlmostEqual(stats.paired_test(b - a[:5], 0.05).p_value,
                               sps.ttest_rel(b, a[:5]).pvalue, 9)

    def test_interval_and_detectable_change(self):
        rng = np.random.default_rng(3)
        inside = 0
        for _ in range(400):
            e = stats.paired_test(rng.normal(np.log(1.1), 0.05, 8), 0.05)
            inside += e.low <= 0.1 <= e.high
        self.assertGreater(inside / 400, 0.92)
        self.assertLess(inside / 400, 0.98)
        se = 0.03 / np.sqrt(12)
        mdc = stats.detectable(se, 11, 0.05 / 56, 0.8)
        hits = sum(stats.paired_test(rng.normal(np.log1p(mdc), 0.03, 12), 0.05).p_value
                   < 0.05 / 56 for _ in range(400))
        self.assertAlmostEqual(hits / 400, 0.8, delta=0.07)

    def test_holm(self):
        self.assertEqual(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])


if __name__ == '__main__':
    unittest.main()
