"""`report` through scripts/ipcreport (the real entry point, interpreter discovery included) on
fixture runs: every expected chart exists as a valid PNG and SVG, SVGs are byte-identical when
made twice by separate processes, summary.md and index.html are there and self-contained."""
import os
import shutil
import struct
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from reports import charts, load

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, 'fixtures')
IPCREPORT = os.path.join(HERE, '..', '..', 'scripts', 'ipcreport')
COMBINED = ['latency_vs_size', 'throughput_vs_size', 'latency_cdf_64B', 'heatmap_p50_64B',
            'fan_scaling']


def report(*args):
    p = subprocess.run([IPCREPORT, 'report', *args], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise AssertionError(f'ipcreport report failed ({p.returncode}): {p.stderr}')
    return p.stdout


def check_png(test, path):
    with open(path, 'rb') as f:
        head = f.read(24)
    test.assertEqual(head[:8], b'\x89PNG\r\n\x1a\n', path)
    test.assertEqual(head[12:16], b'IHDR', path)
    width, height = struct.unpack('>II', head[16:24])
    test.assertGreater(width, 300, path)
    test.assertGreater(height, 150, path)


def check_svg(test, path):
    root = ET.parse(path).getroot()
    test.assertEqual(root.tag, '{http://www.w3.org/2000/svg}svg', path)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    test.assertNotIn('<dc:date>', text, 'no date in the metadata')


class Charts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='ipcb-report-')
        cls.first, cls.second = (os.path.join(cls.tmp, d) for d in ('one', 'two'))
        for out in (cls.first, cls.second):
            report(f'{FX}/sizes', f'{FX}/fan4', '--out', out)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_chart_as_png_and_svg(self):
        for stem in COMBINED:
            check_png(self, os.path.join(self.first, stem + '.png'))
            check_svg(self, os.path.join(self.first, stem + '.svg'))

    def test_svg_is_deterministic(self):
        for stem in COMBINED:
            with open(os.path.join(self.first, stem + '.svg'), 'rb') as a, \
                    open(os.path.join(self.second, stem + '.svg'), 'rb') as b:
                self.assertEqual(a.read(), b.read(), f'{stem}.svg differs between two runs')

    def test_summary_and_index(self):
        with open(os.path.join(self.first, 'summary.md'), encoding='utf-8') as f:
            md = f.read()
        for stem in COMBINED:
            self.assertIn(f']({stem}.svg)', md)
        self.assertIn('**sizes**', md)
        self.assertIn('**fan4**', md)
        self.assertIn('## Skipped (limits of this machine)', md)
        self.assertIn('| posix_shm / spin |', md)
        with open(os.path.join(self.first, 'index.html'), encoding='utf-8') as f:
            page = f.read()
        self.assertEqual(page.count('<svg'), len(COMBINED))
        for external in ('src=', 'href="http', '<link', '<script'):
            self.assertNotIn(external, page.replace('xlink:href="#', ''), external)
        self.assertIn('id="c0-', page)

    def test_footer_names_the_machine(self):
        rs = load.load(f'{FX}/sizes')
        text = charts.footer([rs])
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
        p = subprocess.run([IPCREPORT, 'report', os.path.join(self.tmp, 'missing')],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn('no such file', p.stderr)


if __name__ == '__main__':
    unittest.main()
