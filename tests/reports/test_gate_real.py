"""The gate on real A/A rounds of the `ci` suite recorded on this machine
(fixtures/aa-rounds.json, two sides of the same binary, run alternately): it stays green on
them, calibrates a detectable change for every benchmark, never fails single-round pairs, and
catches a +10% put on the quietest benchmark's real rounds, flagging nothing else."""
import contextlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import unittest

import aa_rounds
from reports import cli, environment


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def flagged(markdown):
    return sorted(re.findall(r'^\| `([^`]+)` \|.*\*\*regression\*\* \|$', markdown, re.M))


class RealRounds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='ipcb-real-')
        cls.doc = aa_rounds.read()
        cls.a, cls.b = aa_rounds.unpack(cls.doc, os.path.join(cls.tmp, 'aa'))
        cls.cal = os.path.join(cls.tmp, 'cal.json')
        rc, cls.cal_table, err = run('calibrate', cls.a, cls.b, '--output', cls.cal)
        assert rc == 0, err
        with open(cls.cal) as f:
            cls.calibration = json.load(f)
        cls.n_rounds = len(os.listdir(cls.a))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_fingerprint_is_rebuilt_as_ipcbench_writes_it(self):
        ctx = dict(self.doc['context'])
        written, key = ctx.pop('comparability'), ctx.pop('comparability_key')
        self.assertEqual(environment.fingerprint(ctx), written)
        if environment.computed_key(ctx):          # libxxhash present
            self.assertEqual(environment.computed_key(ctx), key)

    def test_aa_rounds_are_green(self):
        rc, out, err = run('compare', self.a, self.b)
        self.assertEqual(rc, 0, out + err)
        self.assertIn('paired t test', out)
        self.assertEqual(run('compare', self.a, self.b, '--calibration', self.cal)[0], 0)

    def test_every_benchmark_has_a_detectable_change(self):
        names = sorted(self.doc['sides']['a'])
        for name in names:
            e = self.calibration['benchmarks'][name]['real_time']
            self.assertTrue(math.isfinite(e['detectable']) and e['detectable'] > 0, name)
        rows = re.findall(r'^\| `([^`]+)` \| real_time \|', self.cal_table, re.M)
        self.assertEqual(rows, names)

    def test_single_round_pairs_never_fail(self):
        """Each round's pair alone, with a calibration from the other rounds."""
        for r in range(1, self.n_rounds + 1):
            rest = os.path.join(self.tmp, f'rest-{r}')
            for side, src in (('a', self.a), ('b', self.b)):
                kept = [d for d in sorted(os.listdir(src)) if d != f'round-{r}']
                for i, d in enumerate(kept):
                    shutil.copytree(os.path.join(src, d), os.path.join(rest, side, f'round-{i}'))
            cal = os.path.join(rest, 'cal.json')
            self.assertEqual(run('calibrate', os.path.join(rest, 'a'), os.path.join(rest, 'b'),
                                 '--output', cal)[0], 0)
            one = [os.path.join(s, f'round-{r}') for s in (self.a, self.b)]
            rc, out, err = run('compare', *one)
            self.assertEqual(rc, 0, out + err)
            self.assertIn('inconclusive (1 round per side', out)
            rc, out, err = run('compare', *one, '--calibration', cal)
            self.assertEqual(rc, 0, f'round {r}: {flagged(out)}\n{err}')

    def test_a_real_slowdown_on_real_noise_is_caught(self):
        bench = self.calibration['benchmarks']
        target = min(bench, key=lambda n: bench[n]['real_time']['sigma_pair'])
        self.assertLess(bench[target]['real_time']['detectable'], 0.10,
                        'the quietest benchmark can see 10% at the calibrated rounds')
        a, b = aa_rounds.unpack(self.doc, os.path.join(self.tmp, 'slow'),
                                shift={('b', target): 1.10})
        rc, out, _ = run('compare', a, b, '--calibration', self.cal)
        self.assertEqual((rc, flagged(out)), (1, [target]), out)


if __name__ == '__main__':
    unittest.main()
