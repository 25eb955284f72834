"""`report` through scripts/ipcreport (the real entry point, interpreter discovery included) on
fixture runs: the charts each input allows exist as PNG (at --dpi) and SVG (text as <text>,
with <title> and <desc>), SVGs are byte-identical when made twice by separate processes,
charts the data cannot support are not drawn and the report says why, the heatmap is sized to
its labels, and summary.md / index.html open with the answers and are self-contained."""
import os
import re
import shutil
import struct
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt

from reports import chartkit, charts, charts_dist, dist, load

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, 'fixtures')
IPCREPORT = os.path.join(HERE, '..', '..', 'scripts', 'ipcreport')
SVG = '{http://www.w3.org/2000/svg}'
# fixtures/which alone: both placements, one size per workload, histograms, conformance.
WHICH = ['which_pingpong', 'which_stream', 'latency_vs_cpu_64B', 'placement_pingpong_64B',
         'placement_stream_4KiB', 'throughput_4KiB', 'latency_cdf_64B', 'heatmap_p50_64B']
# sizes + fan4 on the same charts: three sizes, fans 2 and 4, cross only, no histograms.
COMBINED = ['which_pingpong', 'which_stream', 'which_fanin', 'which_fanout',
            'latency_vs_cpu_64B', 'latency_vs_size', 'throughput_vs_size', 'latency_cdf_64B',
            'heatmap_p50_64B', 'fan_scaling']


def report(*args):
    p = subprocess.run([IPCREPORT, 'report', *args], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise AssertionError(f'ipcreport report failed ({p.returncode}): {p.stderr}')
    return p.stdout


def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n' and head[12:16] == b'IHDR', path
    return struct.unpack('>II', head[16:24])


def charts_in(folder):
    return sorted(n[:-4] for n in os.listdir(folder) if n.endswith('.svg'))


class Charts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='ipcb-report-')
        cls.which, cls.which2, cls.combined, cls.low, cls.pair = (
            os.path.join(cls.tmp, d) for d in ('which', 'which2', 'combined', 'low', 'pair'))
        cls.out = {}
        for out in (cls.which, cls.which2):
            cls.out[out] = report(f'{FX}/which', '--out', out)
        cls.out[cls.low] = report(f'{FX}/which', '--out', cls.low, '--dpi', '100')
        cls.out[cls.combined] = report(f'{FX}/sizes', f'{FX}/fan4', '--out', cls.combined)
        cls.out[cls.pair] = report(f'{FX}/sleep20', f'{FX}/sleep200', '--out', cls.pair)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_charts_the_data_allows(self):
        self.assertEqual(charts_in(self.which), sorted(WHICH))
        self.assertEqual(charts_in(self.combined), sorted(COMBINED))
        self.assertIn('ratio_64B', charts_in(self.pair))
        for folder in (self.which, self.combined):
            for stem in charts_in(folder):
                self.assertTrue(charts.CHART_FILE.match(stem + '.png'), stem)

    def test_svg_text_title_desc(self):
        for stem in WHICH:
            path = os.path.join(self.which, stem + '.svg')
            root = ET.parse(path).getroot()
            self.assertEqual(root.tag, SVG + 'svg', path)
            kids = list(root)
            self.assertEqual([kids[0].tag, kids[1].tag], [SVG + 'title', SVG + 'desc'], stem)
            self.assertTrue(kids[0].text.strip() and len(kids[1].text) > 60, stem)
            texts = [''.join(t.itertext()) for t in root.iter(SVG + 'text')]
            self.assertGreater(len(texts), 5, f'{stem}: text is editable <text>, not paths')
            with open(path, encoding='utf-8') as f:
                raw = f.read()
            self.assertNotIn('<dc:date>', raw)
            self.assertNotIn('id="DejaVuSans-', raw, 'no glyphs drawn as paths')
        desc = ET.parse(os.path.join(self.which, 'which_pingpong.svg')).getroot()[1].text
        self.assertRegex(desc, r'Best: 64 B: \w+ / \w+ [\d.]+ (ns|µs) \(cross\)')

    def test_svg_is_deterministic(self):
        for stem in WHICH:
            with open(os.path.join(self.which, stem + '.svg'), 'rb') as a, \
                    open(os.path.join(self.which2, stem + '.svg'), 'rb') as b:
                self.assertEqual(a.read(), b.read(), f'{stem}.svg differs between two runs')

    def test_dpi(self):
        for stem in WHICH:
            w200, h200 = png_size(os.path.join(self.which, stem + '.png'))
            w100, h100 = png_size(os.path.join(self.low, stem + '.png'))
            self.assertAlmostEqual(w200 / w100, 2.0, delta=0.05, msg=stem)
            self.assertAlmostEqual(h200 / h100, 2.0, delta=0.05, msg=stem)
            self.assertGreaterEqual(w200, 1000, f'{stem}: sharp when pasted 1200 px wide')
        self.assertIn('PNG at 100 dpi', self.out[self.low])

    def test_what_cannot_be_drawn_is_said(self):
        out = self.out[self.which]
        self.assertNotIn('Fan scaling', out)          # no fan workload ran: nothing to say
        self.assertNotIn('fan_scaling', charts_in(self.which))
        one = self.out[self.combined]
        self.assertIn('placement chart is not drawn: only the cross placement ran', one)
        with open(os.path.join(self.combined, 'which_pingpong.svg'), encoding='utf-8') as f:
            self.assertIn('Only the cross placement ran', f.read())
        alone = os.path.join(self.tmp, 'alone')
        shutil.copytree(f'{FX}/fan4', alone)
        note = report(alone)
        self.assertNotIn('fan_scaling', charts_in(alone))
        self.assertIn('every fan-in / fan-out ran with 4 peers, and one peer count cannot show '
                      'scaling', note)
        with open(os.path.join(alone, 'summary.md'), encoding='utf-8') as f:
            self.assertIn('one peer count cannot show scaling', f.read())

    def test_cdf_says_where_it_comes_from(self):
        titles = {}
        for folder in (self.which, self.combined):
            root = ET.parse(os.path.join(folder, 'latency_cdf_64B.svg')).getroot()
            titles[folder] = root[0].text + ' ' + root[1].text
        self.assertIn('from the full histograms', titles[self.which])
        self.assertIn('percentile points', titles[self.combined])

    def test_summary_and_index(self):
        with open(os.path.join(self.which, 'summary.md'), encoding='utf-8') as f:
            md = f.read()
        self.assertLess(md.index('## Answers'), md.index('## Charts'))
        for stem in WHICH:
            self.assertIn(f']({stem}.svg)', md)
        for section in ('## Limits', '## Conformance', '## Physical floors'):
            self.assertIn(section, md)
        with open(os.path.join(self.which, 'index.html'), encoding='utf-8') as f:
            page = f.read()
        self.assertEqual(page.count('<svg'), len(WHICH))
        self.assertLess(page.index('<h2>Answers</h2>'), page.index('<svg'))
        for external in ('src=', 'href="http', '<link', '<script'):
            self.assertNotIn(external, page.replace('xlink:href="#', ''), external)
        self.assertIn('id="c0-', page)
        with open(os.path.join(self.combined, 'summary.md'), encoding='utf-8') as f:
            md = f.read()
        self.assertIn('**sizes**', md)
        self.assertIn('## Skipped (limits of this machine)', md)
        self.assertIn('| posix_shm / spin |', md)

    def test_footer_names_the_machine(self):
        rs = load.load(f'{FX}/sizes')
        text = chartkit.footer([rs])
        for field in ('cpu_model', 'kernel', 'date'):
            self.assertIn(str(rs.context[field]), text)

    def test_report_in_place_replaces_old_charts(self):
        folder = os.path.join(self.tmp, 'inplace')
        shutil.copytree(f'{FX}/sleep20', folder)
        with open(os.path.join(folder, 'fan_scaling.svg'), 'w') as f:
            f.write('stale')
        out = report(folder)
        self.assertIn('latency_cdf_64B', out)
        names = sorted(os.listdir(folder))
        self.assertNotIn('fan_scaling.svg', names)
        self.assertIn('summary.md', names)
        self.assertIn('index.html', names)
        self.assertIn('heatmap_p50_64B.png', names)

    def test_bad_input(self):
        for args, phrase in (([os.path.join(self.tmp, 'missing')], 'no such file'),
                             ([f'{FX}/which', '--dpi', '10'], 'dpi must be'),
                             ([f'{FX}/which', '--metric', 'p42'], 'invalid choice'),
                             ([f'{FX}/which', '--conformance', '/nonexistent'],
                              'no such conformance file')):
            p = subprocess.run([IPCREPORT, 'report', *args], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(phrase, p.stderr)


class HeatmapLabels(unittest.TestCase):
    """The heatmap is sized to its labels: every label inside the figure, however long."""

    def check_inside(self, fig):
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        box = fig.bbox
        # what each axes really draws (tick labels, cell texts, titles), and the figure's
        # own texts above the footer line
        boxes = [(ax.get_label() or 'axes', ax.get_tightbbox(r)) for ax in fig.axes]
        boxes += [(t.get_text(), t.get_window_extent(r)) for t in fig.texts
                  if t.get_position()[1] >= 0]
        self.assertGreaterEqual(len(boxes), 3)
        labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
        self.assertTrue(any('much longer' in t for t in labels))
        for name, e in boxes:
            self.assertTrue(e.x0 >= box.x0 - 1 and e.x1 <= box.x1 + 1 and e.y0 >= box.y0 - 1
                            and e.y1 <= box.y1 + 1, f'clipped: {name!r} {e} {box}')

    def test_long_labels_fit(self):
        sets = [load.load(f'{FX}/placements'), load.load(f'{FX}/which')]
        with plt.rc_context(chartkit.RC):
            for rs in sets:
                h = dist.heatmap(rs, 'pingpong', 64)
                h.rows = [r + ' with a much longer name' * (i % 2) for i, r in enumerate(h.rows)]
                fig = charts_dist.heatmap_figure(
                    [(rs.label, h), ('second', h)], 'a title', lambda v: f'{v:.0f}',
                    charts_dist.mcolors.LogNorm(1, 1e6), plt.get_cmap('viridis'), 'ns',
                    charts_dist.ticker.FuncFormatter(chartkit.ns_tick), [rs])
                self.check_inside(fig)
                wide = fig.get_size_inches()[0]
                plt.close(fig)
                h.rows = [re.sub(r' with.*', '', r) for r in h.rows]
                fig = charts_dist.heatmap_figure(
                    [(rs.label, h), ('second', h)], 'a title', lambda v: f'{v:.0f}',
                    charts_dist.mcolors.LogNorm(1, 1e6), plt.get_cmap('viridis'), 'ns',
                    charts_dist.ticker.FuncFormatter(chartkit.ns_tick), [rs])
                self.assertGreater(wide, fig.get_size_inches()[0] + 2, 'grows with labels')
                plt.close(fig)


if __name__ == '__main__':
    unittest.main()
