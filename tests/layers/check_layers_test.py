#!/usr/bin/env python3
"""Tests scripts/check-layers: it passes on this tree, and fails on every kind of breach.

  tests/layers/check_layers_test.py   (ctest: layers_check, label unit)
"""
import pathlib
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-layers"


def run_check(root):
    return subprocess.run([sys.executable, str(CHECK), "--root", str(root)],
                          capture_output=True, text=True, timeout=120)


class FakeTree:
    """A source tree in a temporary folder: {relative path: text}."""

    def __init__(self, files):
        self.dir = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.dir.name)
        (self.root / "harness" / "sys").mkdir(parents=True)
        for rel, text in files.items():
            p = self.root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)

    def __enter__(self):
        return run_check(self.root)

    def __exit__(self, *exc):
        self.dir.cleanup()


# Each kind of breach: a tree of one file, and what the check must say about it.
BREACHES = [
    ("an include going up", "harness/sys/a.h", '#include "harness/cli/cli.h"\n',
     "harness/sys/a.h:1: includes harness/cli/cli.h, a layer above it"),
    ("a backend including the run layer", "backends/b.cc",
     'int x;\n#include "harness/run/session.h"\n', "backends/b.cc:2: includes harness/run/session.h"),
    ("transport including a backend", "harness/transport/t.h", '#include "backends/backend.h"\n',
     "harness/transport/t.h:1: includes backends/backend.h"),
    ("a suite including the CLI", "suites/bench/r.cc", '#include "harness/cli/cli.h"\n',
     "suites/bench/r.cc:1: includes harness/cli/cli.h"),
    ("code including tests", "harness/run/s.cc", '#include "tests/process_util.h"\n',
     "harness/run/s.cc:1: includes tests/process_util.h"),
    ("a harness file outside the layers", "harness/loose.cc", "int x;\n",
     "harness/loose.cc: a harness file outside the layer folders"),
    ("a kernel call in a backend", "backends/b.cc",
     "void f() {\n  ::mmap(nullptr, 1, 0, 0, -1, 0);\n}\n",
     "backends/b.cc:2: calls ::mmap outside harness/sys"),
    ("std::rename in a writer", "harness/report/w.cc", 'void f() { std::rename("a", "b"); }\n',
     "harness/report/w.cc:1: calls std::rename outside harness/sys"),
]


class CheckLayers(unittest.TestCase):
    def test_this_tree_passes(self):
        r = run_check(ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("every include goes down", r.stdout)

    def assert_breach(self, files, expected):
        with FakeTree(files) as r:
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(expected, r.stdout)

    def assert_clean(self, files):
        with FakeTree(files) as r:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_kind_of_breach_fails_naming_it(self):
        for what, path, text, expected in BREACHES:
            with self.subTest(what):
                self.assert_breach({path: text}, expected)

    def test_includes_going_down_or_sideways_pass(self):
        self.assert_clean({
            "harness/cli/c.cc": '#include "suites/bench/run.h"\n#include "harness/sys/sys.h"\n',
            "harness/run/s.cc": '#include "backends/backend.h"\n#include "harness/run/peer.h"\n',
            "backends/b.cc": '#include "harness/transport/channel.h"\n',
            "tests/t.cc": '#include "harness/cli/cli.h"\n',
        })

    def test_kernel_calls_where_they_belong_or_in_text_pass(self):
        self.assert_clean({
            "harness/sys/s.cc": "void f() { ::shmget(1, 2, 3); }\n",
            "suites/conformance/c.cc": "void f() { ::shmget(1, 2, 3); }\n",
            "tests/t.cc": "void f() { ::kill(1, 9); }\n",
            "backends/b.cc": ('// ::mmap( in a comment\n/* ::kill( */\n'
                              'const char* s = "::close(";\nvoid g() { sys::close(); x.read(); }\n'),
        })


if __name__ == "__main__":
    unittest.main()
