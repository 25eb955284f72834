"""The core-to-core heatmap of a `--placement all-pairs` run: topology.core_maps arranges each
mechanism's cpuA-cpuB results into a CPU x CPU matrix (row: the measured side's CPU, column:
the peer's; a pair run one way only fills the other way, and says so), other placements stay
out of it, and `report` draws one core_to_core_* chart per mechanism, naming in its <desc>
how many pairs were measured. The input is fixtures/which with its pingpong posix_shm/spin and
pipe/block results copied onto CPU pairs of a 3-CPU machine with known latencies."""
import copy
import json
import math
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from reports import load, topology

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, 'fixtures')
IPCREPORT = os.path.join(HERE, '..', '..', 'scripts', 'ipcreport')

# (backend/sync) -> {(measured CPU, peer CPU): p50 ns}. spin ran 0-1 both ways; pipe did not.
PAIRS = {
    ('posix_shm', 'spin'): {(0, 1): 70.0, (1, 0): 75.0, (0, 2): 140.0, (1, 2): 150.0},
    ('pipe', 'block'): {(0, 1): 9000.0, (0, 2): 12000.0, (1, 2): 11000.0},
}


def all_pairs_run(folder):
    """Writes folder/bench.json: the fixture's context, and per mechanism and pair one
    iteration entry (named with its placement, as ipcbench names all-pairs results)."""
    with open(os.path.join(FX, 'which', 'bench.json'), encoding='utf-8') as f:
        doc = json.load(f)
    out = []
    for (backend, sync), pairs in PAIRS.items():
        base = next(b for b in doc['benchmarks']
                    if b['name'] == f'pingpong/{backend}/{sync}/64/cross/manual_time'
                    and b.get('run_type') == 'iteration')
        for (a, b), p50 in pairs.items():
            e = copy.deepcopy(base)
            place = f'cpu{a}-cpu{b}'
            e['name'] = e['run_name'] = f'pingpong/{backend}/{sync}/64/{place}/manual_time'
            e['placement'], e['cpu_self'], e['cpu_peer'] = place, a, b
            e['latency_p50_ns'] = p50
            e['latency_mean_ns'] = p50
            out.append(e)
    # A named placement of the same mechanism: not a cell of the matrix.
    other = copy.deepcopy(out[0])
    other['name'] = other['run_name'] = 'pingpong/posix_shm/spin/64/core/manual_time'
    other['placement'], other['latency_p50_ns'] = 'core', 1.0
    out.append(other)
    doc['benchmarks'] = out
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'bench.json'), 'w', encoding='utf-8') as f:
        json.dump(doc, f)


class CoreMaps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='ipcb-topology-')
        cls.folder = os.path.join(cls.tmp, 'allpairs')
        all_pairs_run(cls.folder)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_pair_names(self):
        self.assertEqual(topology.pair_of('cpu3-cpu12'), (3, 12))
        for not_a_pair in ('cross', 'core', 'cpu3', 'cpu3-cpu', '', None):
            self.assertIsNone(topology.pair_of(not_a_pair), not_a_pair)

    def test_matrix_per_mechanism(self):
        maps = topology.core_maps(load.load(self.folder))
        self.assertEqual([(m.backend, m.sync) for m in maps],
                         [('posix_shm', 'spin'), ('pipe', 'block')])
        nan = math.nan
        want = {
            'spin': [[nan, 70.0, 140.0], [75.0, nan, 150.0], [140.0, 150.0, nan]],
            'block': [[nan, 9000.0, 12000.0], [9000.0, nan, 11000.0],
                      [12000.0, 11000.0, nan]],
        }
        for m in maps:
            self.assertEqual(m.cpus, [0, 1, 2])
            for row, want_row in zip(m.cells, want[m.sync]):
                for got, w in zip(row, want_row):
                    if math.isnan(w):
                        self.assertTrue(math.isnan(got), m.cells)
                    else:
                        self.assertEqual(got, w, m.cells)
        spin, block = maps
        self.assertEqual((spin.measured, spin.mirrored), (4, 2))   # 2-0 and 2-1
        self.assertEqual((block.measured, block.mirrored), (3, 3))
        self.assertNotIn(1.0, spin.values(), 'the core placement is not a cell')

    def test_report_draws_one_chart_per_mechanism(self):
        p = subprocess.run([IPCREPORT, 'report', self.folder], capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        charts = sorted(n[:-4] for n in os.listdir(self.folder)
                        if n.startswith('core_to_core_') and n.endswith('.svg'))
        self.assertEqual(charts, ['core_to_core_pingpong_pipe_block_64B',
                                  'core_to_core_pingpong_posix_shm_spin_64B'])
        root = ET.parse(os.path.join(self.folder, charts[1] + '.svg')).getroot()
        desc = list(root)[1].text
        self.assertIn('4 pairs measured, 2 cells mirrored', desc)
        self.assertIn('Lowest 70', desc)
        self.assertIn('highest 150', desc)


if __name__ == '__main__':
    unittest.main()
