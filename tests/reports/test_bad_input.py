"""Bad input to scripts/ipcreport, through the real entry point as a user or a CI job runs it:
every case must exit 2 with exactly one line on stderr that names what is wrong (and the
file), never a traceback, never a table on stdout, and never exit 1 (which a gate reads as a
regression). The files are fixture runs broken in one way each."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from roundsfx import noisy, write_rounds

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, 'fixtures')
IPCREPORT = os.path.join(HERE, '..', '..', 'scripts', 'ipcreport')
GOOD = os.path.join(FX, 'sleep20')
FUTEX = 'pingpong/posix_shm/futex/64'


def fixture_doc(name='sleep20'):
    with open(os.path.join(FX, name, 'bench.json'), encoding='utf-8') as f:
        return json.load(f)


def iterations(doc):
    return [b for b in doc['benchmarks'] if b['run_type'] == 'iteration']


class BadInput(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='ipcb-bad-')
        self.addCleanup(shutil.rmtree, self.tmp)

    def write(self, name, content):
        """content: bytes, str, or a document (dumped as JSON, NaN written as bare words)."""
        path = os.path.join(self.tmp, name)
        if not isinstance(content, (bytes, str)):
            content = json.dumps(content)
        with open(path, 'wb') as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        return path

    def edited(self, edit, name='edited.json'):
        doc = fixture_doc()
        edit(doc)
        return self.write(name, doc)

    def refused(self, args, *phrases, stdin_out=None, timeout=120):
        """Runs ipcreport ARGS; asserts exit 2, one stderr line holding every phrase, no
        traceback, nothing on stdout. Returns the stderr line."""
        p = subprocess.run([IPCREPORT, *args], stdout=stdin_out or subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        err = p.stderr
        self.assertNotIn('Traceback', err)
        self.assertNotIn('internal error', err, 'validated, not caught by the last resort')
        self.assertEqual(p.returncode, 2, err)
        self.assertEqual(len(err.splitlines()), 1, f'exactly one stderr line:\n{err}')
        if stdin_out is None:
            self.assertEqual(p.stdout, '', 'no table for bad input')
        for phrase in phrases:
            self.assertIn(phrase, err)
        return err

    def both(self, path, *phrases):
        """compare and report refuse the file alike (NEW is read as BASE is: see
        test_either_side)."""
        self.refused(['compare', path, GOOD], path, *phrases)
        self.refused(['report', path, '--out', os.path.join(self.tmp, 'r')], path, *phrases)

    # -- the cases -------------------------------------------------------------
    def test_invalid_utf8(self):
        text = json.dumps(fixture_doc()).encode()
        at = text.index(b'AMD')
        self.both(self.write('latin1.json', text[:at] + b'\xff\xfe' + text[at:]),
                  'not UTF-8', '0xff')

    def test_deeply_nested(self):
        deep = self.edited(lambda d: d['context'].update(extra=json.loads('[' * 200 + ']' * 200)))
        self.both(deep, 'nested more than 32 levels')
        self.both(self.write('abyss.json', '[' * 100000 + ']' * 100000), 'nested too deeply')

    def test_all_zero_p50(self):
        def zero(doc):
            for b in doc['benchmarks']:
                b['latency_p50_ns'] = 0
        self.both(self.edited(zero), 'latency_p50_ns is 0')

    def test_malformed_skipped(self):
        self.both(self.edited(lambda d: d['context'].update(ipcbench_skipped=['x', 3])),
                  'context.ipcbench_skipped[0] is a string')
        self.both(self.edited(lambda d: d['context'].update(ipcbench_skipped=[{'name': 'a'}])),
                  'context.ipcbench_skipped[0]', '"reason"')
        self.both(self.edited(lambda d: d['context'].update(ipcbench_skipped='none')),
                  'context.ipcbench_skipped is a string, expected a list')

    def test_unwritable_output_is_bad_input_not_a_regression(self):
        # Rounds whose comparison is a regression (exit 1) when the output can be written.
        doc = fixture_doc()
        regress = [write_rounds(os.path.join(self.tmp, side), doc, noisy(seed, 4, 0.01, shift))
                   for side, seed, shift in (('base', 1, None), ('new', 2, {FUTEX: 1.5}))]
        p = subprocess.run([IPCREPORT, 'compare', *regress], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.refused(['compare', *regress, '--output', os.path.join(self.tmp, 'no', 'x.md')],
                     'cannot write (No such file or directory)')
        self.refused(['compare', *regress, '--output', '/dev/full'],
                     '/dev/full', 'No space left on device')
        self.refused(['compare', *regress, '--output', self.tmp], 'Is a directory')
        with open('/dev/full', 'w') as full:
            self.refused(['compare', *regress], 'standard output', 'No space left on device',
                         stdin_out=full)

    def test_plain_google_benchmark_json(self):
        self.both(self.edited(lambda d: d.update(context={'host_name': 'x', 'num_cpus': 2})),
                  'plain Google Benchmark JSON', 'ipcbench_schema_version')
        self.both(self.edited(lambda d: d.pop('context')), 'no "context" object')

    def test_empty_benchmark_list(self):
        self.both(self.edited(lambda d: d.update(benchmarks=[])), 'list is empty')

    # -- more ways to break it -----------------------------------------------------------
    def test_truncated_and_empty_files(self):
        with open(os.path.join(GOOD, 'bench.json'), 'rb') as f:
            data = f.read()
        self.both(self.write('cut.json', data[:len(data) // 3]), 'not valid JSON', 'truncated')
        self.both(self.write('empty.json', b''), 'empty file')
        self.both(self.write('list.json', '[]'), 'top level is a list')

    def test_not_a_result_folder(self):
        empty = os.path.join(self.tmp, 'nothing')
        os.makedirs(os.path.join(empty, 'round-1'))
        self.both(empty, 'no bench.json in this folder or its subfolders')
        self.both(os.path.join(self.tmp, 'missing'), 'no such file or folder')
        fifo = os.path.join(self.tmp, 'fifo')
        os.mkfifo(fifo)
        self.both(fifo, 'not a regular file')

    def test_non_finite_values(self):
        for word in ('NaN', 'Infinity', '-Infinity'):
            doc = fixture_doc()
            iterations(doc)[2]['real_time'] = '@@'
            text = json.dumps(doc).replace('"@@"', word)
            self.both(self.write(f'{word}.json', text), 'real_time is not a finite number')

    def test_negative_values(self):
        self.both(self.edited(lambda d: iterations(d)[0].update(latency_p99_ns=-5)),
                  'latency_p99_ns is negative')
        self.both(self.edited(lambda d: iterations(d)[0].update(real_time=-1.0)),
                  'real_time is negative')

    def test_duplicate_entries(self):
        self.both(self.edited(lambda d: d['benchmarks'].append(iterations(d)[1])),
                  'repeats benchmarks[1]', 'counted twice')

    def test_non_numeric_values(self):
        self.both(self.edited(lambda d: iterations(d)[0].update(latency_p99_ns='fast')),
                  "latency_p99_ns is a string 'fast', expected a number")
        self.both(self.edited(lambda d: iterations(d)[0].update(messages=True)),
                  'messages is true/false')
        self.both(self.edited(lambda d: iterations(d)[0].update(repetition_index='1')),
                  'repetition_index')
        self.both(self.edited(lambda d: iterations(d)[0].update(time_unit='weeks')),
                  "time_unit 'weeks'")
        self.both(self.edited(lambda d: d['context'].update(num_cpus='two')),
                  'context.num_cpus is a string, expected a number')
        self.both(self.edited(lambda d: d['context'].update(placements=['same'])),
                  'context.placements[0] is a string')

    def test_foreign_benchmark_names(self):
        def foreign(doc):
            for i, b in enumerate(doc['benchmarks']):
                b['name'] = b['run_name'] = f'BM_memcpy/{64 + i}'
        self.both(self.edited(foreign), 'none of its', 'WORKLOAD/BACKEND/SYNC/SIZE',
                  'BM_memcpy/64')

    def test_either_side(self):
        path = self.edited(lambda d: d['context'].update(ipcbench_skipped=[1]))
        self.refused(['compare', GOOD, path], path, 'context.ipcbench_skipped[0]')
        rounds = os.path.join(self.tmp, 'rounds')
        shutil.copytree(GOOD, os.path.join(rounds, 'round-1'))
        os.makedirs(os.path.join(rounds, 'round-2'))
        shutil.copy(path, os.path.join(rounds, 'round-2', 'bench.json'))
        self.refused(['compare', GOOD, rounds], 'round-2', 'context.ipcbench_skipped[0]')

    def test_huge_files(self):
        # 50 MB of benchmark entries, cut before the end: read and refused within seconds.
        entry = json.dumps(iterations(fixture_doc())[0])
        head = json.dumps({'context': fixture_doc()['context']})[:-1] + ', "benchmarks": ['
        body = ','.join(entry.replace('/64/', f'/{64 + i}/') for i in range(50_000_000
                                                                              // len(entry)))
        big = self.write('big.json', head + body)
        start = time.monotonic()
        self.refused(['compare', big, GOOD], big, 'not valid JSON')
        self.assertLess(time.monotonic() - start, 30)
        sparse = os.path.join(self.tmp, 'sparse.json')
        with open(sparse, 'wb') as f:
            f.truncate(300 << 20)              # a hole: costs no disk
        self.refused(['compare', sparse, GOOD], sparse, 'larger than any bench.json')

    def test_report_output_that_is_not_a_folder(self):
        path = self.write('plain.txt', 'x')
        self.refused(['report', GOOD, '--out', path], path, 'not a folder')
        self.refused(['report', GOOD, '--out', '/proc/ipcb/x'], 'cannot create')

    def test_usage_errors_are_one_line(self):
        self.refused(['compare', GOOD, GOOD, '--threshold', 'x'], '--threshold', 'not a number')
        self.refused(['compare', GOOD], 'required')
        self.refused(['compare', GOOD, GOOD, '--bogus'], '--bogus')


class GoodInputStillReads(unittest.TestCase):
    """The checks must not refuse what ipcbench really writes."""

    def test_every_fixture_loads(self):
        from reports import load
        for name in sorted(os.listdir(FX)):
            if not os.path.isdir(os.path.join(FX, name)):
                continue                        # aa-rounds.json is packed rounds
            rs = load.load(os.path.join(FX, name))
            self.assertGreater(len(rs.iterations()), 0, name)

    def test_free_placement_and_no_latency_samples(self):
        from reports import load
        doc = fixture_doc()
        first = iterations(doc)[0]
        first.update(cpu_self=-1, cpu_peer=-1, latency_samples=0, latency_p50_ns=0)
        doc['context']['placements'] = [{'name': 'free', 'cpu_measured_side': -1,
                                         'cpu_peer': -1}]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'bench.json')
            with open(path, 'w') as f:
                json.dump(doc, f)
            entry = load.load(path).iterations()[0]
        self.assertEqual(entry.values['cpu_self'], -1)
        self.assertNotIn('latency_p50_ns', entry.values, 'no samples: absent, not 0 ns')


if __name__ == '__main__':
    unittest.main()
