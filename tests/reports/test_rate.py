"""The rate workload in the report: names carry the offered rate (part of the key), sweeps
group a mechanism's rates in order, the saturation point is where saturation stays, the
summary gets its own section and the chart of latency against offered load is drawn, while
the answers, tables and "which mechanism" charts leave rate out."""
import os
import subprocess
import tempfile
import unittest

from reports import load, rate

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, 'fixtures')
IPCREPORT = os.path.join(HERE, '..', '..', 'scripts', 'ipcreport')


class Names(unittest.TestCase):
    def test_the_rate_is_part_of_the_key(self):
        k = load.parse_name('rate/pipe/block/64/20000/manual_time', {})
        self.assertEqual((k.workload, k.size, k.rate, k.fan), ('rate', 64, 20000, 0))
        self.assertEqual(k.name, 'rate/pipe/block/64/20000')
        other = load.parse_name('rate/pipe/block/64/100000/iterations:2000/manual_time', {})
        self.assertNotEqual(k, other)
        placed = load.parse_name('rate/posix_shm/spin/64/10/same/inplace/manual_time', {})
        self.assertEqual((placed.rate, placed.placement, placed.inplace), (10, 'same', True))
        self.assertEqual(load.parse_name('stream/pipe/block/64/manual_time', {}).rate, 0)
        for bad in ('rate/pipe/block/64/manual_time', 'rate/pipe/block/64/0/manual_time',
                    'rate/pipe/block/64/sweep'):
            with self.assertRaises(ValueError, msg=bad):
                load.parse_name(bad, {})


def sweep_of(rates, achieved):
    s = rate.Sweep('a', 'pipe', 'block', 64, 'pipe / block, 64 B')
    s.rates = list(rates)
    s.values = [{'achieved_rate': a} for a in achieved]
    return s


class Saturation(unittest.TestCase):
    def test_saturated_below_95_percent_without_the_counter(self):
        self.assertFalse(rate.saturated(1000, {'achieved_rate': 950}))
        self.assertTrue(rate.saturated(1000, {'achieved_rate': 949}))
        self.assertTrue(rate.saturated(1000, {'achieved_rate': 999, 'saturated': 1}))
        self.assertFalse(rate.saturated(1000, {}))

    def test_the_point_is_where_saturation_stays(self):
        # a stall cost 20k its 95%, but 50k was carried: the point is 100k
        s = sweep_of([10_000, 20_000, 50_000, 100_000, 200_000],
                     [10_000, 18_000, 49_900, 80_000, 81_000])
        self.assertEqual(s.saturated_at(), 100_000)
        self.assertIsNone(sweep_of([10, 20], [10, 20]).saturated_at())
        self.assertEqual(sweep_of([10, 20], [5, 6]).saturated_at(), 10)

    def test_labels(self):
        self.assertEqual(rate.rate_label(100_000), '100k')
        self.assertEqual(rate.rate_label(2_500_000), '2.5M')
        self.assertEqual(rate.rate_label(999), '999')
        self.assertEqual(rate.rate_label(96_881.4, 4), '96.88k')


class Fixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rs = load.load(os.path.join(FX, 'rate'), 'rate')

    def test_sweeps_group_each_mechanism_in_rate_order(self):
        sweeps = rate.sweeps([self.rs])
        self.assertEqual([(s.backend, s.sync) for s in sweeps],
                         [('posix_shm', 'futex'), ('pipe', 'block')])
        for s in sweeps:
            self.assertEqual(s.rates, [10_000, 100_000, 5_000_000])
            for r, v in zip(s.rates, s.values):
                self.assertEqual(v['offered_rate'], r)
                # from the intended send time, never below the figure from the actual send
                self.assertGreaterEqual(v['latency_p99_ns'], v['uncorrected_p99_ns'])
        pipe = sweeps[1]
        # a pipe does not carry 5M messages per second here; it carries 10k
        self.assertEqual(pipe.saturated_at(), 5_000_000)
        self.assertLess(pipe.values[2]['achieved_rate'], 0.95 * 5_000_000)
        self.assertFalse(rate.saturated(10_000, pipe.values[0]))

    def test_the_generic_parts_leave_rate_out(self):
        self.assertEqual(len(self.rs.entries), 6)
        self.assertEqual(rate.without_rate([self.rs])[0].entries, [])
        self.assertEqual(len(self.rs.entries), 6, 'the set itself is unchanged')

    def test_table_rows(self):
        header, rows = rate.table(rate.sweeps([self.rs])[1])
        self.assertEqual(len(header), len(rows[0]))
        self.assertEqual([r[0] for r in rows], ['10k', '100k', '5M'])
        self.assertIn('saturated', rows[2][1])
        self.assertNotIn('saturated', rows[0][1])


class Report(unittest.TestCase):
    def test_report_draws_latency_against_offered_load(self):
        with tempfile.TemporaryDirectory(prefix='ipcb-rate-') as out:
            p = subprocess.run([IPCREPORT, 'report', os.path.join(FX, 'rate'), '--out', out],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            names = sorted(os.listdir(out))
            self.assertIn('rate_latency.svg', names)
            self.assertIn('rate_latency.png', names)
            self.assertNotIn('which_rate.svg', names)
            with open(os.path.join(out, 'rate_latency.svg')) as f:
                svg = f.read()
            self.assertIn('pipe / block, 64 B: saturated at 5M/s', svg)
            self.assertIn('p99 uncorrected', svg)
            with open(os.path.join(out, 'summary.md')) as f:
                md = f.read()
            self.assertIn('## Latency under offered load (rate)', md)
            self.assertIn('**pipe / block, 64 B**: saturated at 5M messages/s.', md)
            self.assertNotIn('| rate |', md, 'rate is not ranked by throughput')


if __name__ == '__main__':
    unittest.main()
