"""`ipcreport trend`: the noise band against a hand-computed example, the series of one
environment in time order with the gate's flags, and the charts and trend.md it writes."""
import os
import re
import unittest

from historyfx import FUTEX, QUIET, SLEEP, history_of, make_doc, run, write_run
from roundsfx import TempDirTest

from reports import history_db, trend


class Band(unittest.TestCase):
    def test_hand_computed_prediction_interval(self):
        # logs of 100, 110, 121: mean ln 110, spread ln 1.1; t(0.975, 2) = 4.302653;
        # half width 4.302653 * 0.0953102 * sqrt(1 + 1/3) = 0.473527: 110 / 1.60566 = 68.508
        # to 110 * 1.60566 = 176.621.
        lo, mid, hi = trend.band([100, 110, 121])
        self.assertAlmostEqual(mid, 110.0, places=9)
        self.assertAlmostEqual(lo, 68.508, places=3)
        self.assertAlmostEqual(hi, 176.621, places=3)

    def test_needs_two_runs_or_a_known_spread(self):
        self.assertIsNone(trend.band([]))
        self.assertIsNone(trend.band([100]))
        # A calibrated spread of 0.1 (df 11, t = 2.200985) around one run: sqrt(1 + 1/1).
        lo, mid, hi = trend.band([100], sigma=0.1, df=11)
        self.assertAlmostEqual(mid, 100)
        self.assertAlmostEqual(hi, 136.515, places=3)
        self.assertAlmostEqual(lo * hi, mid * mid, places=6)

    def test_identical_runs_have_a_band_of_zero_width(self):
        for v in trend.band([50, 50, 50]):
            self.assertAlmostEqual(v, 50, places=9)


class Series(TempDirTest):
    def setUp(self):
        super().setUp()
        factors = [{SLEEP: q} for q in QUIET[:6]] + [{SLEEP: 1.6}]
        self.db, _ = history_of(self.tmp, factors)
        self.conn = history_db.open_db(self.db)

    def test_points_bands_and_flags(self):
        ts = {t.benchmark: t for t in trend.trends(self.conn, trend.pick_key(self.conn),
                                                   'median', 10)}
        self.assertEqual(sorted(ts), [FUTEX, SLEEP])
        s = ts[SLEEP]
        self.assertEqual([p.run_id for p in s.points], list(range(1, 8)))
        self.assertIsNone(s.points[0].band)
        self.assertIsNone(s.points[1].band)
        base = s.points[0].value / QUIET[0]
        for i, p in enumerate(s.points[2:], 2):
            expect = trend.band([q.value for q in s.points[:i]])
            self.assertEqual(p.band, expect)
        self.assertEqual([p.run_id for p in s.flagged], [7])
        self.assertEqual(trend.position(s.latest), 'above')
        self.assertAlmostEqual(s.latest.value / base, 1.6)
        self.assertEqual(trend.position(s.points[4]), 'inside')
        self.assertEqual(ts[FUTEX].flagged, [])

    def test_time_order_window_last_and_pattern(self):
        # A run added late but dated before the others takes its place by time.
        early = os.path.join(self.tmp, 'early')
        doc = make_doc(1)
        doc['context']['date'] = '2026-11-30T10:00:00Z'
        write_run(early, doc, {SLEEP: 0.9})
        run('history', 'add', early, '--db', self.db)
        (s,) = trend.trends(self.conn, trend.pick_key(self.conn), 'median', 3, 'sleep')
        self.assertEqual([p.run_id for p in s.points], [8, 1, 2, 3, 4, 5, 6, 7])
        # Window 3: the band of run 4 (index 4) comes from runs 1, 2, 3.
        by_id = {p.run_id: p for p in s.points}
        self.assertEqual(by_id[4].band, trend.band([by_id[i].value for i in (1, 2, 3)]))
        (last,) = trend.trends(self.conn, trend.pick_key(self.conn), 'median', 3, 'sleep', 2)
        self.assertEqual([p.run_id for p in last.points], [6, 7])
        self.assertEqual(last.points[0].band, by_id[6].band)

    def test_key_choice(self):
        other = os.path.join(self.tmp, 'other')
        write_run(other, make_doc(28, key='feedbeef00000000'), {})
        run('history', 'add', other, '--db', self.db)
        self.assertEqual(trend.pick_key(self.conn), 'feedbeef00000000')   # the newest run's
        self.assertEqual(trend.pick_key(self.conn, 'feed'), 'feedbeef00000000')
        first = history_db.runs(self.conn)[0].key
        self.assertEqual(trend.pick_key(self.conn, first[:6]), first)


class Command(TempDirTest):
    def setUp(self):
        super().setUp()
        factors = [{SLEEP: q, FUTEX: q} for q in QUIET[:5]] + [{SLEEP: 1.5}]
        self.db, _ = history_of(self.tmp, factors)

    def test_charts_and_markdown(self):
        rc, out, err = run('trend', '--db', self.db, '--dpi', '60')
        self.assertEqual(rc, 0, err)
        folder = os.path.join(self.tmp, 'trend')
        self.assertEqual(sorted(os.listdir(folder)),
                         ['trend.md', 'trend_median.png', 'trend_median.svg'])
        self.assertIn('2 benchmarks over 6 runs', out)
        self.assertIn('the gate flagged 1 regression;', out)
        with open(os.path.join(folder, 'trend.md')) as f:
            md = f.read()
        self.assertRegex(md, rf'- `{SLEEP}`: run 6 \(2026-12-06T10:00:00Z, commit 0123456789ab\) '
                         r'\+5\d\.\d%')
        self.assertRegex(md, rf'\| `{SLEEP}` \| 6 \| [\d.]+ µs \(run 6\) \| [\d.]+ µs – [\d.]+ µs '
                         r'\| above \| regression \|')
        self.assertRegex(md, rf'\| `{FUTEX}` \| 6 \| .* \| inside \| ')
        with open(os.path.join(folder, 'trend_median.svg')) as f:
            svg = f.read()
        desc = re.search(r'<desc>(.*?)</desc>', svg, re.S).group(1)
        self.assertIn(f'the gate flagged {SLEEP} (run #6, +5', desc)
        self.assertIn(SLEEP, svg)
        # Again: the same bytes (deterministic), old charts replaced.
        with open(os.path.join(folder, 'trend_median.svg'), 'rb') as f:
            first = f.read()
        run('trend', '--db', self.db, '--dpi', '60')
        with open(os.path.join(folder, 'trend_median.svg'), 'rb') as f:
            self.assertEqual(f.read(), first)

    def test_pages_other_metrics_and_bad_choices(self):
        out_dir = os.path.join(self.tmp, 'p99')
        rc, _, err = run('trend', '--db', self.db, '--metric', 'latency_p99_ns', '--out',
                         out_dir, '--dpi', '60', '--benchmark', 'sleep')
        self.assertEqual(rc, 0, err)
        self.assertIn('trend_latency_p99_ns.png', os.listdir(out_dir))
        for argv, why in ((('--metric', 'no_such_counter'), 'has metric "no_such_counter"'),
                          (('--benchmark', 'nothing-matches'), 'and matches nothing-matches'),
                          (('--benchmark', '(('), 'not a regular expression'),
                          (('--key', 'zz'), '--key zz: matches 0 of'),
                          (('--window', '1'), 'the window needs 2 runs or more')):
            rc, _, err = run('trend', '--db', self.db, *argv)
            self.assertEqual(rc, 2, (argv, err))
            self.assertIn(why, err)


if __name__ == '__main__':
    unittest.main()
