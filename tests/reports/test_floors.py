"""`ipcreport floors`: ratios to the physical floors over several runs, on runs made from a real
fixture run with known ratios put in (settled and unsettled), through the command line."""
import json
import os
import unittest

from roundsfx import TempDirTest, fixture_doc, run_cli as run

FUTEX, SLEEP = 'pingpong/posix_shm/futex/64', 'pingpong/posix_shm/sleep/64'


def with_ratios(doc, ratios, below=()):
    """A copy of doc whose iteration entries of each benchmark in `ratios` carry its
    (ratio, unsettled) pairs in repetition order; the others carry none."""
    out = json.loads(json.dumps(doc))
    for b in out['benchmarks']:
        name = b['run_name'].removesuffix('/manual_time')
        if b['run_type'] != 'iteration' or name not in ratios:
            continue
        pairs = ratios[name]
        rep = b.get('repetition_index', 0)
        if rep < len(pairs):
            b['ratio_to_floor'], unsettled = pairs[rep]
            if unsettled:
                b['floor_unsettled'] = 1
    out['context']['ipcbench_below_floor'] = list(below)
    return out


def write(folder, doc):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'bench.json'), 'w', encoding='utf-8') as f:
        json.dump(doc, f)
    return folder


def rows(text):
    """benchmark -> its cells, from the Markdown table."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| pingpong/'):
            out[cells[0]] = cells[1:]
    return out


class Floors(TempDirTest):
    def test_median_range_and_count_of_the_settled_ratios(self):
        doc = fixture_doc('sleep20')
        # Three runs; the unsettled 0.2 and 9.0 must move neither the median nor the range, nor
        # the 0.1 of a result its run listed as below its floor.
        a = write(os.path.join(self.tmp, 'a'), with_ratios(doc, {
            FUTEX: [(1.0, False), (1.2, False), (0.2, True)]}))
        b = write(os.path.join(self.tmp, 'b'), with_ratios(doc, {
            FUTEX: [(1.1, False), (9.0, True)], SLEEP: [(2.0, True)]}))
        c = write(os.path.join(self.tmp, 'c'), with_ratios(doc, {FUTEX: [(0.1, False)]},
                  below=[f'{FUTEX}: p50 1 ns is below the futex hand-off']))
        out_file = os.path.join(self.tmp, 'floors.md')
        rc, out, err = run('floors', a, b, c, '--output', out_file)
        self.assertEqual(rc, 0, err)
        table = rows(out)
        self.assertEqual(table[FUTEX][:3], ['1.10', '1.00-1.20', '3/6'])
        self.assertEqual(table[SLEEP][:3], ['-', '-', '0/1'])  # nothing settled: no median
        self.assertIn('over 3 run(s)', out)
        self.assertIn('1 result(s).', out)
        self.assertIn(f'- c: {FUTEX}: p50 1 ns is below', out)
        with open(out_file, encoding='utf-8') as f:
            self.assertEqual(f.read(), out)

    def test_a_folder_of_rounds_counts_each_round_as_a_run(self):
        doc = fixture_doc('sleep20')
        rounds = os.path.join(self.tmp, 'rounds')
        for i, r in enumerate((0.9, 1.3, 1.0)):
            write(os.path.join(rounds, f'round-{i + 1}'), with_ratios(doc, {FUTEX: [(r, False)]}))
        rc, out, err = run('floors', rounds)
        self.assertEqual(rc, 0, err)
        self.assertEqual(rows(out)[FUTEX][:3], ['1.00', '0.90-1.30', '3/3'])
        self.assertIn('over 3 run(s)', out)
        self.assertIn('0 result(s).', out)

    def test_runs_without_floors_are_bad_input_in_one_line(self):
        a = write(os.path.join(self.tmp, 'a'), fixture_doc('sleep20'))
        rc, out, err = run('floors', a)
        self.assertEqual(rc, 2)
        self.assertEqual(out, '')
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn('no result has a ratio_to_floor', err)

    def test_an_output_that_cannot_be_written_is_bad_input(self):
        a = write(os.path.join(self.tmp, 'a'),
                  with_ratios(fixture_doc('sleep20'), {FUTEX: [(1.0, False)]}))
        rc, _, err = run('floors', a, '--output', os.path.join(self.tmp, 'no', 'such', 'f.md'))
        self.assertEqual(rc, 2)
        self.assertIn('cannot write', err)

    def test_a_missing_folder_is_bad_input(self):
        rc, _, err = run('floors', os.path.join(self.tmp, 'nothing'))
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == '__main__':
    unittest.main()
