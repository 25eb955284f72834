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

    def test_an_include_going_up_fails(self):
        self.assert_breach({"harness/sys/a.h": '#include "harness/cli/cli.h"\n'},
                           "harness/sys/a.h:1: includes harness/cli/cli.h, a layer above it")
        self.assert_breach({"backends/b.cc": 'int x;\n#include "harness/run/session.h"\n'},
                           "backends/b.cc:2: includes harness/run/session.h")
        self.assert_breach({"harness/transport/t.h": '#include "backends/backend.h"\n'},
                           "harness/transport/t.h:1: includes backends/backend.h")
        self.assert_breach({"suites/bench/r.cc": '#include "harness/cli/cli.h"\n'},
                           "suites/bench/r.cc:1: includes harness/cli/cli.h")

    def test_includes_going_down_or_sideways_pass(self):
        self.assert_clean({
            "harness/cli/c.cc": '#include "suites/bench/run.h"\n#include "harness/sys/sys.h"\n',
            "harness/run/s.cc": '#include "backends/backend.h"\n#include "harness/run/peer.h"\n',
            "backends/b.cc": '#include "harness/transport/channel.h"\n',
            "tests/t.cc": '#include "harness/cli/cli.h"\n',
        })

    def test_only_tests_include_tests(self):
        self.assert_breach({"harness/run/s.cc": '#include "tests/process_util.h"\n'},
                           "harness/run/s.cc:1: includes tests/process_util.h")

    def test_a_harness_file_outside_the_layers_fails(self):
        self.assert_breach({"harness/loose.cc": "int x;\n"},
                           "harness/loose.cc: a harness file outside the layer folders")

    def test_a_kernel_call_outside_sys_fails(self):
        self.assert_breach({"backends/b.cc": "void f() {\n  ::mmap(nullptr, 1, 0, 0, -1, 0);\n}\n"},
                           "backends/b.cc:2: calls ::mmap outside harness/sys")
        self.assert_breach({"harness/report/w.cc": 'void f() { std::rename("a", "b"); }\n'},
                           "harness/report/w.cc:1: calls std::rename outside harness/sys")

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
