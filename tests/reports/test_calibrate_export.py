"""`calibrate` (this runner's noise from A/A rounds) and `export` (Bencher Metric Format and
github-action-benchmark JSON), through the command line, on rounds made from a real fixture
run; the exports are checked against the shapes their tools document."""
import json
import math
import os
import unittest

from roundsfx import TempDirTest, fixture_doc, noisy, run_cli as run, write_rounds

SLEEP, FUTEX = 'pingpong/posix_shm/sleep/64', 'pingpong/posix_shm/futex/64'


def bmf_problems(doc) -> list:
    """Where doc breaks Bencher's BMF schema: an object of non-empty benchmark names, each an
    object of non-empty measure names, each an object with a number `value` and optional
    number `lower_value` / `upper_value` (JSON Schema draft-07 as Bencher publishes it)."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if not isinstance(doc, dict):
        return ['top level is not an object']
    problems = []
    for bench, measures in doc.items():
        if not bench or not isinstance(measures, dict):
            problems.append(f'{bench!r}: not a named object')
            continue
        for slug, metric in measures.items():
            where = f'{bench} {slug}'
            if not slug or not isinstance(metric, dict) or not number(metric.get('value')):
                problems.append(f'{where}: no number value')
                continue
            problems += [f'{where}: {k} is not a number' for k in ('lower_value', 'upper_value')
                         if k in metric and not number(metric[k])]
    return problems


class Calibrate(TempDirTest):
    def setUp(self):
        super().setUp()
        doc = fixture_doc('sleep20')
        self.a = write_rounds(os.path.join(self.tmp, 'a'), doc,
                              noisy(1, 10, 0.02, sigma_of={SLEEP: 0.10}))
        self.b = write_rounds(os.path.join(self.tmp, 'b'), doc,
                              noisy(2, 10, 0.02, sigma_of={SLEEP: 0.10}))

    def test_spread_and_detectable_change_per_benchmark(self):
        path = os.path.join(self.tmp, 'cal.json')
        rc, out, err = run('calibrate', self.a, self.b, '--output', path, '--rounds', '12')
        self.assertEqual(rc, 0, err)
        with open(path) as f:
            cal = json.load(f)
        quiet, loud = (cal['benchmarks'][n]['real_time'] for n in (FUTEX, SLEEP))
        # Two sides of spread sigma: their per-round log ratio spreads by sigma * sqrt(2).
        self.assertAlmostEqual(quiet['sigma_pair'], 0.02 * math.sqrt(2), delta=0.015)
        self.assertAlmostEqual(loud['sigma_pair'], 0.10 * math.sqrt(2), delta=0.07)
        self.assertLess(quiet['detectable'], loud['detectable'])
        self.assertEqual(cal['settings']['rounds'], 12)
        for name in (FUTEX, SLEEP):
            self.assertRegex(out, rf'\| `{name}` \| real_time \| 10 \| [\d.]+% \| \+[\d.]+% \|')
        rc, _, err = run('compare', self.a, self.b, '--calibration', path)
        self.assertEqual(rc, 0, err)

    def test_needs_interleaved_sides(self):
        other = write_rounds(os.path.join(self.tmp, 'c'), fixture_doc('sleep20'),
                             noisy(3, 10, 0.02), names={i: f'x-{i}' for i in range(10)})
        rc, _, err = run('calibrate', self.a, other, '--output', os.path.join(self.tmp, 'x'))
        self.assertEqual(rc, 2)
        self.assertIn('calibration needs two sides of the same rounds', err)

    def test_bad_calibration_file(self):
        path = os.path.join(self.tmp, 'bad.json')
        with open(path, 'w') as f:
            json.dump({'ipcbench_calibration': 1, 'benchmarks': {FUTEX: {'real_time': {}}}}, f)
        rc, _, err = run('compare', self.a, self.b, '--calibration', path)
        self.assertEqual(rc, 2)
        self.assertIn('needs sigma_pair', err)


class Export(TempDirTest):
    def setUp(self):
        super().setUp()
        self.rounds = write_rounds(os.path.join(self.tmp, 'r'), fixture_doc('sleep20'),
                                   noisy(4, 5, 0.05))

    def export(self, *args):
        path = os.path.join(self.tmp, 'out.json')
        rc, _, err = run('export', self.rounds, *args, '--output', path)
        self.assertEqual(rc, 0, err)
        with open(path) as f:
            return json.load(f)

    def test_bmf_shape_and_values(self):
        doc = self.export('--format', 'bmf')
        self.assertEqual(bmf_problems(doc), [])
        self.assertEqual(sorted(doc), [FUTEX, SLEEP])
        self.assertEqual(sorted(doc[FUTEX]), ['cpu-per-message', 'latency-p50', 'latency-p99',
                                              'throughput'])
        for m in doc[FUTEX].values():
            self.assertLessEqual(m['lower_value'], m['value'])
            self.assertLessEqual(m['value'], m['upper_value'])
            self.assertLess(m['lower_value'], m['upper_value'], 'five rounds spread')
        self.assertEqual(bmf_problems({'x': {'latency': {'lower_value': 1}}}),
                         ['x latency: no number value'])

    def test_gab_fields(self):
        smaller = self.export('--format', 'gab')
        bigger = self.export('--format', 'gab', '--direction', 'bigger')
        for entries in (smaller, bigger):
            self.assertIsInstance(entries, list)
            for e in entries:
                self.assertEqual(set(e) - {'name', 'unit', 'value', 'range', 'extra'}, set())
                self.assertIsInstance(e['name'], str)
                self.assertIsInstance(e['unit'], str)
                self.assertIsInstance(e['value'], (int, float))
                self.assertIsInstance(e.get('range', ''), str)
                self.assertIsInstance(e.get('extra', ''), str)
        self.assertEqual({e['unit'] for e in smaller}, {'ns'})
        self.assertEqual([e['name'] for e in bigger], [f'{FUTEX} throughput',
                                                       f'{SLEEP} throughput'])
        self.assertEqual(len(smaller), 6)


if __name__ == '__main__':
    unittest.main()
