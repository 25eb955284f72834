"""Round folders for the gate's tests, made from a real fixture run: every round is the
fixture's bench.json with its measurements scaled by a known factor per round and benchmark,
so a test knows exactly what change and what noise it put in."""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest
import zlib

import numpy as np

from reports import cli

FX = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
# Fields scaled as times (up when slower) and as rates (down when slower).
TIMES = ('real_time', 'cpu_time', 'latency_p50_ns', 'latency_p90_ns', 'latency_p99_ns',
         'latency_p999_ns', 'latency_max_ns', 'cpu_self_ns_per_msg', 'cpu_peer_ns_per_msg')
RATES = ('bytes_per_second', 'items_per_second')


class TempDirTest(unittest.TestCase):
    """A test with a temporary folder of its own, self.tmp, removed after the test."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)


def fixture_doc(name):
    with open(os.path.join(FX, name, 'bench.json'), encoding='utf-8') as f:
        return json.load(f)


def scaled(doc, factor_of):
    """A copy of doc whose iteration entries are scaled by factor_of(run_name, repetition)."""
    out = json.loads(json.dumps(doc))
    for b in out['benchmarks']:
        if b['run_type'] != 'iteration':
            continue
        f = factor_of(b['run_name'].removesuffix('/manual_time'), b.get('repetition_index', 0))
        for k in TIMES:
            if k in b:
                b[k] *= f
        for k in RATES:
            if k in b:
                b[k] /= f
    return out


def write_rounds(folder, doc, factors, names=None):
    """folder/round-N/bench.json for each round's factor_of function in `factors`."""
    for i, factor_of in enumerate(factors):
        d = os.path.join(folder, (names or {}).get(i, f'round-{i + 1}'))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'bench.json'), 'w', encoding='utf-8') as f:
            json.dump(scaled(doc, factor_of), f)
    return folder


def noisy(seed, rounds, sigma, shift=None, within=0.01, sigma_of=None):
    """Per-round factor functions: a log-normal between-round effect per benchmark (spread
    sigma, or sigma_of[name]) shared by the round's repetitions, and within-round noise per
    repetition; shift maps a benchmark name to a factor."""
    def effects(name):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        return np.exp((sigma_of or {}).get(name, sigma) * rng.standard_normal(rounds)), \
            rng.lognormal(0.0, within, (rounds, 64))
    cache = {}

    def make(r):
        def factor(name, rep):
            if name not in cache:
                cache[name] = effects(name)
            between, jitter = cache[name]
            return float(between[r] * jitter[r, rep % 64] * (shift or {}).get(name, 1.0))
        return factor
    return [make(r) for r in range(rounds)]


def run_cli(*argv):
    """ipcreport with these arguments, in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(list(argv))
        except SystemExit as e:  # argparse's usage errors
            rc = e.code
    return rc, out.getvalue(), err.getvalue()
