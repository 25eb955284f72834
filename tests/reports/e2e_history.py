"""End to end: scripts/bench (narrowed: --suite quick --iterations 20 --no-floors, results in a
temporary $IPCBENCH_RESULTS_DIR) adds its run to the results history there; `ipcbench history`
(which runs scripts/ipcreport) lists it with the run's commit, environment key and every
benchmark that ran; adding the folder again keeps one run; a second scripts/bench run is a
second run of the same environment, judged against the first. Nothing is left behind.
Usage: e2e_history.py PATH/TO/ipcbench
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import e2efx
from e2efx import leftovers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
IPCBENCH = os.environ.get('IPCBENCH_BIN', '')
NARROW = ['--suite', 'quick', '--iterations', '20', '--no-floors']


def bench(results):
    env = dict(os.environ, IPCBENCH_RESULTS_DIR=results)
    env.pop('IPCBENCH_HISTORY', None)
    p = subprocess.run([os.path.join(ROOT, 'scripts', 'bench'), *NARROW], env=env,
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(f'scripts/bench failed ({p.returncode}): {p.stdout[-3000:]}'
                           f'{p.stderr[-3000:]}')
    return p.stdout


def history(*args, env=None):
    p = subprocess.run([IPCBENCH, 'history', *args], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


class BenchAddsToHistory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.before = leftovers()
        cls.tmp = tempfile.mkdtemp(prefix='ipcb-history-')
        cls.results = os.path.join(cls.tmp, 'results')
        cls.db = os.path.join(cls.results, 'history.sqlite')
        cls.out1 = bench(cls.results)
        cls.first = os.path.realpath(os.path.join(cls.results, 'latest'))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def listed(self):
        rc, out, err = history('list', '--db', self.db, '--json')
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def test_1_the_run_is_in_the_history(self):
        self.assertIn(f'History: {self.results}/history.sqlite', self.out1)
        self.assertIn('ipcreport history: added run 1 (', self.out1)
        with open(os.path.join(self.first, 'bench.json')) as f:
            doc = json.load(f)
        names = {b['run_name'].removesuffix('/manual_time') for b in doc['benchmarks']
                 if b['run_type'] == 'iteration' and not b.get('error_occurred')}
        (run,) = self.listed()
        ctx = doc['context']
        self.assertTrue(ctx['ipcbench_commit'], 'bench.json records the commit it was built from')
        self.assertRegex(ctx['ipcbench_commit'], r'^[0-9a-f]{40}(-dirty)?$')
        self.assertEqual((run['commit'], run['comparability_key'], run['time'], run['source']),
                         (ctx['ipcbench_commit'], ctx['comparability_key'], ctx['date'],
                          self.first))
        self.assertEqual((run['benchmarks'], run['failed'], run['rounds']), (len(names), 0, 1))
        self.assertGreater(len(names), 40, 'the quick suite')

    def test_2_the_same_folder_again_is_kept_once(self):
        rc, out, err = history('add', self.first, '--db', self.db)
        self.assertEqual(rc, 0, err)
        self.assertIn('already in the history as run 1', out)
        self.assertEqual(len(self.listed()), 1)

    def test_3_a_second_run_is_judged_against_the_first(self):
        out = bench(self.results)
        self.assertIn('ipcreport history: added run 2 (', out)
        self.assertIn('gate (median, against run 1 of this environment)', out)
        runs = self.listed()
        self.assertEqual([r['id'] for r in runs], [1, 2])
        self.assertEqual(runs[0]['comparability_key'], runs[1]['comparability_key'])
        # The default database is found through $IPCBENCH_RESULTS_DIR, as scripts/bench uses it.
        rc, text, err = history('list', env={'IPCBENCH_RESULTS_DIR': self.results})
        self.assertEqual(rc, 0, err)
        self.assertIn(f'{self.db}: 2 runs', text)

    def test_4_exit_status_and_errors_pass_through(self):
        rc, out, err = history('list', '--db', os.path.join(self.tmp, 'none.sqlite'))
        self.assertEqual((rc, out), (2, ''))
        self.assertIn('no history here', err)
        rc, _, err = history('add', '--help')
        self.assertEqual(rc, 0, err)
        rc, _, err = history('list', env={'IPCBENCH_IPCREPORT': '/nonexistent/ipcreport'})
        self.assertEqual(rc, 2)
        self.assertIn('ipcbench: history: cannot run /nonexistent/ipcreport', err)

    def test_5_nothing_left_behind(self):
        self.assertEqual(leftovers(), self.before)


if __name__ == '__main__':
    e2efx.main(sys.modules[__name__])
