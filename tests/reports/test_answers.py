"""The data behind "which mechanism should I use?" on a real fixture run (fixtures/which: both
placements, 2 repetitions, floors, histograms.json, conformance.json): best waiter per backend,
the Pareto front, the answers, placement pairs, histograms and their CDF, limits and
conformance. Each check recomputes the expected value from the entries, not from the code."""
import dataclasses
import json
import math
import os
import shutil
import statistics
import tempfile
import unittest

from reports import answers, context_info, dist, histograms, load, metrics, summary

FX = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def which():
    rs = load.load(os.path.join(FX, 'which'))
    histograms.attach(rs)
    return rs


def medians(rs, metric):
    """Key -> median of metric over clean repetitions, straight from the entries."""
    per = {}
    for e in rs.iterations():
        if metric in e.values:
            per.setdefault(e.key, []).append(e.values[metric])
    return {k: statistics.median(v) for k, v in per.items()}


def pick(key, latency, cpu, mode='spin'):
    return answers.Pick('x', key, latency, latency, latency, 1, latency, math.nan, cpu, mode)


class Best(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rs = which()

    def test_best_waiter_per_backend(self):
        lat = medians(self.rs, 'latency_p50_ns')
        tput = medians(self.rs, 'bytes_per_second')
        for workload, values, better in (('pingpong', lat, min), ('stream', tput, max)):
            groups = answers.groups([self.rs], workload)
            self.assertEqual(set(groups), {(64 if workload == 'pingpong' else 4096, 0)})
            for (label, place), picks in next(iter(groups.values())).items():
                bests = answers.best_per_backend(picks, workload)
                self.assertEqual([p.key.backend for p in bests],
                                 sorted({p.key.backend for p in bests},
                                        key=lambda b: [q.value for q in bests
                                                       if q.key.backend == b][0],
                                        reverse=workload != 'pingpong'))
                for p in bests:
                    mine = {k: v for k, v in values.items() if k.workload == workload and
                            k.backend == p.key.backend and k.placement == place}
                    self.assertEqual(p.key, better(mine, key=mine.get), (workload, place))
                    self.assertEqual(p.repetitions, 2)
                    self.assertLessEqual(p.low, p.value)
                    self.assertGreaterEqual(p.high, p.value)

    def test_pareto_front(self):
        k = [load.Key('pingpong', 'posix_shm', s, 64) for s in ('spin', 'futex', 'sleep', 'yield')]
        picks = [pick(k[0], 100, 200), pick(k[1], 20000, 5000, 'block'),
                 pick(k[2], 60000, 900, 'sleep'), pick(k[3], 500, 1000, 'yield')]
        front = answers.pareto_front(picks)
        # futex is beaten by yield (faster and cheaper); the others each win somewhere
        self.assertEqual([p.key.sync for p in front], ['spin'])
        picks[2].cpu = 150
        self.assertEqual([p.key.sync for p in answers.pareto_front(picks)], ['sleep', 'spin'])
        picks[3].cpu = 100
        self.assertEqual([p.key.sync for p in answers.pareto_front(picks)],
                         ['yield', 'spin'])

    def test_answers(self):
        got = answers.answers([self.rs])
        self.assertEqual([(a.workload, a.placement) for a in got],
                         [('pingpong', 'cross'), ('pingpong', 'same'),
                          ('stream', 'cross'), ('stream', 'same')])
        for a in got:
            self.assertEqual(len(a.picks), 5)
            better = min if a.workload == 'pingpong' else max
            self.assertEqual(a.fastest.value, better(p.value for p in a.picks))
            self.assertEqual(a.cheapest.cpu, min(p.cpu for p in a.picks))
            blocking = [p for p in a.picks if p.wait_mode in ('block', 'adaptive')]
            self.assertIn(a.blocking, blocking)
            self.assertEqual(a.blocking.value, better(p.value for p in blocking))
            for p in a.picks:
                e = next(e for e in self.rs.iterations() if e.key == p.key)
                self.assertEqual(p.wait_mode, e.text['wait_mode'])

    def test_answer_table_says_number_and_placement(self):
        header, rows = summary.answer_table([self.rs])
        self.assertEqual(header[:4], ['workload', 'size', 'placement', 'compared'])
        self.assertEqual(rows[0][:4], ['pingpong', '64 B', 'cross', '5 (2 backends)'])
        self.assertRegex(rows[0][4], r'^(posix_shm|pipe) / \w+: [\d.]+ (ns|µs)$')
        self.assertRegex(rows[0][5], r' CPU/msg \(')

    def test_placement_pairs(self):
        pairs = answers.placement_pairs([self.rs], 'pingpong', 64)
        self.assertEqual(len(pairs), 5)
        lat = medians(self.rs, 'latency_p50_ns')
        for _, c, s in pairs:
            self.assertEqual((c.key.placement, s.key.placement), ('cross', 'same'))
            self.assertEqual(dataclasses.replace(c.key, placement='same'), s.key)
            self.assertEqual(c.value, lat[c.key])
        self.assertEqual([c.value for _, c, _ in pairs], sorted(c.value for _, c, _ in pairs))
        self.assertEqual(answers.placement_pairs([load.load(os.path.join(FX, 'sizes'))],
                                                 'pingpong', 64), [])

    def test_floor_from_the_context(self):
        floors = {f['placement']: f for f in self.rs.context['floors']}
        got = answers.floor_at(self.rs, 'pingpong', 64, 'same')
        want = next(z for z in floors['same']['sizes'] if z['bytes'] == 64)
        self.assertEqual(got[0], want['pingpong_copy_ns'])
        self.assertIsNone(answers.floor_at(self.rs, 'pingpong', 12345, 'same'))
        self.assertEqual(answers.handoff(self.rs, 'cross'), floors['cross']['futex_handoff_ns'])


class Histograms(unittest.TestCase):
    def test_merged_counts_and_means(self):
        rs = which()
        self.assertTrue(rs.histograms)
        for key, hs in rs.histograms.items():
            reps = [e for e in rs.iterations() if e.key == key]
            self.assertEqual(hs['latency'].count,
                             sum(int(e.values['latency_samples']) for e in reps), key)
            self.assertEqual(('rtt' in hs), key.workload == 'pingpong')
            for e in reps:
                self.assertIn('latency_mean_ns', e.values)
        self.assertEqual(histograms.attach(load.load(os.path.join(FX, 'sizes'))), 0)

    def test_cdf_is_a_distribution(self):
        rs = which()
        cdf = dist.cdf_series([rs], 'pingpong', 64)
        self.assertTrue(cdf.from_histograms)
        lat = medians(rs, 'latency_p50_ns')
        for ss in cdf.by_backend.values():
            for s in ss:
                self.assertEqual(s.x, sorted(s.x))
                self.assertEqual(s.y['fraction'], sorted(s.y['fraction']))
                self.assertAlmostEqual(s.y['fraction'][-1], 1.0)
        key = load.Key('pingpong', 'pipe', 'block', 64, 'cross')
        xs, ys = histograms.cdf(rs.histograms[key]['latency'])
        median_x = next(x for x, y in zip(xs, ys) if y >= 0.5)
        reps = [e.values['latency_p50_ns'] for e in rs.iterations() if e.key == key]
        # the merged median lies between the repetitions' medians (within a bucket, 1%)
        self.assertGreaterEqual(median_x, min(reps) * 0.99)
        self.assertLessEqual(median_x, max(reps) * 1.01 + 1)
        self.assertAlmostEqual(lat[key], statistics.median(reps))

    def test_broken_sidecar_is_bad_input(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        shutil.copy(os.path.join(FX, 'which', 'bench.json'), tmp)
        with open(os.path.join(FX, 'which', 'histograms.json')) as f:
            doc = json.load(f)
        doc['benchmarks'][0]['latency']['count'] += 1
        with open(os.path.join(tmp, 'histograms.json'), 'w') as f:
            json.dump(doc, f)
        with self.assertRaisesRegex(load.BadInput, r'histograms.json: .*count \d+ is not the '
                                    r'sum of its buckets'):
            histograms.attach(load.load(tmp))


class ContextInfo(unittest.TestCase):
    def test_limits(self):
        rs = load.load(os.path.join(FX, 'which'))
        configured, probed = context_info.limits(rs.context)
        names = [r[0] for r in configured]
        self.assertEqual(names[:3], ['kernel.shmmax', 'kernel.shmall', 'kernel.shmmni'])
        lim = rs.context['limits']
        self.assertIn(['kernel.shmmni', str(lim['kernel.shmmni'])], configured)
        row = next(r for r in probed if r[0] == 'posix_mq.max_msgsize')
        self.assertTrue(row[1].startswith(str(lim['probed.posix_mq.max_msgsize'])))
        self.assertIn('fs.mqueue.msgsize_max', row[2])
        self.assertEqual(context_info.limits({}), ([], []))

    def test_conformance(self):
        conf = context_info.find_conformance('', [load.load(os.path.join(FX, 'which'))])
        with open(os.path.join(FX, 'which', 'conformance.json')) as f:
            doc = json.load(f)
        for r in ('PASS', 'FAIL', 'SKIP'):
            self.assertEqual(conf.total(r), sum(x['result'] == r for x in doc['results']))
        self.assertEqual(len(conf.skipped), conf.total('SKIP'))
        self.assertIsNone(context_info.find_conformance('', [load.load(os.path.join(FX,
                                                                                    'sizes'))]))
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        doc['results'][0]['result'] = 'FAIL'
        doc['results'][0]['reason'] = 'expected EINVAL, got 0'
        path = os.path.join(tmp, 'c.json')
        with open(path, 'w') as f:
            json.dump(doc, f)
        conf = context_info.find_conformance(path, [])
        self.assertEqual(conf.failed[0][0], doc['results'][0]['mechanism'])
        self.assertEqual(conf.failed[0][3], 'expected EINVAL, got 0')
        doc['results'][1]['result'] = 'MAYBE'
        with open(path, 'w') as f:
            json.dump(doc, f)
        with self.assertRaisesRegex(load.BadInput, r'results\[1\] has no mechanism or a result'):
            context_info.find_conformance(path, [])


class Metrics(unittest.TestCase):
    def test_median_and_mean_counters(self):
        self.assertEqual(metrics.counter('median', 'pingpong'), 'latency_p50_ns')
        self.assertEqual(metrics.counter('median', 'stream'), 'real_time')
        self.assertEqual(metrics.counter('mean', 'pingpong'), 'latency_mean_ns')
        self.assertEqual(metrics.counter('latency_p99_ns', 'stream'), 'latency_p99_ns')
        rs = load.load(os.path.join(FX, 'which'))
        e = next(e for e in rs.iterations() if e.key.workload == 'pingpong')
        self.assertEqual(metrics.value(e, 'median'), e.values['latency_p50_ns'])
        self.assertAlmostEqual(metrics.value(e, 'mean'), e.values['real_time'] / 2)
        self.assertIs(metrics.reduce('mean'), statistics.fmean)


class Summary(unittest.TestCase):
    def test_order_of_sections(self):
        rs = which()
        conf = context_info.find_conformance('', [rs])
        md = summary.markdown([rs], [], [], conf)
        heads = [line for line in md.splitlines() if line.startswith('## ')]
        self.assertEqual(heads[0], '## Answers')
        self.assertLess(heads.index('## Answers'), heads.index('## pingpong at 64 B'))
        self.assertLess(heads.index('## stream at 4 KiB'), heads.index('## Limits'))
        self.assertLess(heads.index('## Limits'), heads.index('## Conformance'))
        self.assertIn(f'{conf.total("PASS")} PASS, 0 FAIL', md)
        self.assertNotIn('Only the cross placement ran', md)
        one = summary.markdown([load.load(os.path.join(FX, 'sizes'))], [])
        self.assertIn('> **Only the cross placement ran', one)
        self.assertIn('No conformance.json here', one)


if __name__ == '__main__':
    unittest.main()
