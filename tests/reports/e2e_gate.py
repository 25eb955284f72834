"""End to end: the regression gate on two real ipcbench runs that differ in one real way (the
sleep waiter naps 20 µs vs 200 µs), run interleaved A B A B like scripts/ci-regression.
compare, pairing the rounds, must exit 1 naming the sleep benchmark and no other, 0 for a run
against itself, and 2 for a truncated file. Usage: e2e_gate.py PATH/TO/ipcbench
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import e2efx
from e2efx import leftovers

HERE = os.path.dirname(os.path.abspath(__file__))
IPCREPORT = os.path.join(HERE, '..', '..', 'scripts', 'ipcreport')
IPCBENCH = os.environ.get('IPCBENCH_BIN', '')
ROUNDS = 8            # interleaved A B pairs: fine interleaving keeps drift off one side
REPETITIONS = 2       # per run: 16 per side
RUN_ARGS = ['--workload', 'pingpong', '--backend', 'posix_shm,pipe',
            '--sync', 'sleep,futex,block', '--size', '64', '--placement', 'same', '--mode', 'copy',
            '--min-time', '0.02', '--repetitions', str(REPETITIONS)]
SLEEP = 'pingpong/posix_shm/sleep/64'


def compare(base, new, *extra):
    p = subprocess.run([IPCREPORT, 'compare', base, new, *extra], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def verdicts(markdown):
    """benchmark name -> verdict text, from compare's table."""
    rows = re.findall(r'^\| `([^`]+)` \|.*\| ([^|]+) \|$', markdown, re.M)
    return {name: verdict.strip() for name, verdict in rows}


def interleaved_runs(folder):
    """ROUNDS x (A: sleep 20 µs, B: sleep 200 µs) into folder/a/round-N, folder/b/round-N."""
    for r in range(ROUNDS):
        for side, us in (('a', '20'), ('b', '200')):
            out = os.path.join(folder, side, f'round-{r + 1}')
            p = subprocess.run([IPCBENCH, 'run', '--out', out, '--sleep-us', us, *RUN_ARGS],
                               capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                raise RuntimeError(f'ipcbench run failed ({p.returncode}): {p.stderr[-2000:]}')


def judge_both_ways(folder):
    """Problems found comparing a -> b (must flag the sleep benchmark only) and b -> a (must
    pass, the sleep benchmark improved); [] when all is as expected."""
    a, b = os.path.join(folder, 'a'), os.path.join(folder, 'b')
    problems = []
    # The sleep interval is part of the environment fingerprint: allowed here on purpose.
    rc, out, err = compare(a, b, '--allow-env-mismatch=sleep_us')
    print(out, file=sys.stderr)
    v = verdicts(out)
    flagged = sorted(n for n, text in v.items() if 'regression' in text)
    if rc != 1 or flagged != [SLEEP] or len(v) != 3:
        problems.append(f'a -> b: exit {rc}, flagged {flagged} of {sorted(v)}\n{out}{err}')
    if 'environment differs: sleep_us 20 vs 200' not in out:
        problems.append('a -> b: the sleep_us difference is not noted')
    if 'paired t test' not in out:
        problems.append('a -> b: interleaved rounds were not paired')
    rc, out, err = compare(b, a, '--allow-env-mismatch=sleep_us')
    if rc != 0 or 'improvement' not in verdicts(out).get(SLEEP, ''):
        problems.append(f'b -> a: exit {rc}\n{out}{err}')
    return problems


class Gate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='ipcb-gate-')
        cls.before = leftovers()
        start = time.monotonic()
        interleaved_runs(os.path.join(cls.tmp, 'try-1'))
        print(f'\n{ROUNDS} rounds A B of {REPETITIONS} repetitions: '
              f'{time.monotonic() - start:.1f} s', file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def side(self, name):
        return os.path.join(self.tmp, 'try-1', name)

    def test_sleep_interval_is_a_regression_and_nothing_else(self):
        problems = judge_both_ways(os.path.join(self.tmp, 'try-1'))
        if problems:
            # A busy machine can slow the other benchmarks of one side for real (a CPU hog
            # moves onto the CPU the 200 µs sleeps leave idle): one fresh set of runs decides.
            print(f'first attempt (load average {os.getloadavg()[0]:.1f}): ' + '; '.join(
                p.splitlines()[0] for p in problems) + ' -- running again', file=sys.stderr)
            interleaved_runs(os.path.join(self.tmp, 'try-2'))
            problems = judge_both_ways(os.path.join(self.tmp, 'try-2'))
        self.assertEqual(problems, [])

    def test_same_run_against_itself(self):
        rc, out, err = compare(self.side('a'), self.side('a'))
        self.assertEqual(rc, 0, err + out)
        self.assertIn('no regression', out)

    def test_truncated_file_is_bad_input(self):
        src = os.path.join(self.side('a'), 'round-1', 'bench.json')
        cut = os.path.join(self.tmp, 'truncated.json')
        with open(src, 'rb') as f:
            data = f.read()
        with open(cut, 'wb') as f:
            f.write(data[:len(data) // 2])
        rc, out, err = compare(cut, self.side('b'))
        self.assertEqual(rc, 2, out + err)
        self.assertIn('not valid JSON', err)
        self.assertEqual(out, '')

    def test_nothing_left_behind(self):
        self.assertEqual(leftovers(), self.before)


if __name__ == '__main__':
    e2efx.main(sys.modules[__name__])
