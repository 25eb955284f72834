"""Every command of README.md's ```sh blocks runs as written, narrowed to a short time, and
exits 0; every `ipcbench run` example makes exactly the number of benchmarks its comment in the
README says ("# N benchmarks").

Usage: readme_commands.py SOURCE_ROOT

Narrowing: `ipcbench run` examples get --iterations 20 --no-floors and a temporary --out;
./scripts/bench gets --suite quick --iterations 20 --no-floors and a temporary results folder;
scripts/ci-regression compares HEAD with itself in 2 rounds of one small benchmark. Report
placeholders (A, B, BASE, NEW, DIR, FILE, results/latest; RUN1-RUN3, runs with the floors
measured) become result folders made here;
`ipcbench history` and `ipcreport trend` use the history that ./scripts/bench filled here.
./scripts/test is this test's own runner (CI calls it), so it is not run again from here.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

RUN_NARROW = ["--iterations", "20", "--no-floors"]


def commands(readme):
    """(command, comment) for each line of each ```sh block, continuations joined."""
    out, block, pending = [], False, ""
    for line in open(readme):
        if line.startswith("```sh"):
            block = True
            continue
        if line.startswith("```"):
            block = False
            continue
        if not block or not line.strip():
            continue
        line = pending + line.rstrip("\n")
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        cmd, _, comment = line.partition("   #") if "   #" in line else line.partition(" # ")
        out.append((cmd.strip(), comment.strip()))
    return out


def sh(args, cwd, env=None, timeout=600):
    import time
    t0 = time.monotonic()
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    print("  %.1f s, exit %d" % (time.monotonic() - t0, r.returncode), flush=True)
    return r.returncode, r.stdout, r.stderr


def replace_out(args, out):
    args = list(args)
    if "--out" in args:
        args[args.index("--out") + 1] = out
    else:
        args += ["--out", out]
    return args


def check_run(args, comment, root, tmp):
    """An `ipcbench run` example: its count, then a short real run."""
    m = re.search(r"(\d+) benchmarks", comment)
    assert m, "README: give the run example %s a '# N benchmarks' comment" % args
    want = int(m.group(1))
    code, out, err = sh(args + ["--dry-run"], root)
    assert code == 0, (args, out, err)
    runs = re.search(r"(\d+) runs \((\d+) repetitions each\), (\d+) skipped", out)
    assert runs, out
    # Sizes over a limit of this machine are skipped; the README's count includes them.
    got = int(runs.group(1)) // int(runs.group(2)) + int(runs.group(3))
    assert got == want, "%s: README says %d benchmarks, --dry-run counts %d" % (args, want, got)
    out_dir = tempfile.mkdtemp(dir=tmp)
    code, out, err = sh(replace_out(args, out_dir) + RUN_NARROW, root)
    assert code == 0, (args, out[-2000:], err[-2000:])
    return out_dir


def main(root):
    readme = os.path.join(root, "README.md")
    if not os.access(os.path.join(root, "build/release/harness/ipcbench"), os.X_OK):
        print("SKIP: the README's commands use the release build, and there is none")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="ipcb-readme-")
    ipcbench = os.path.join(root, "build/release/harness/ipcbench")
    # Two runs of one small benchmark (an A/A pair) for the report commands' A, B, BASE, NEW.
    pair = []
    for _ in range(2):
        d = tempfile.mkdtemp(dir=tmp)
        code, out, err = sh([ipcbench, "run", "--backend", "pipe", "--sync", "block",
                             "--workload", "pingpong", "--size", "64", "--iterations", "2000",
                             "--no-floors", "--out", d], root)
        assert code == 0, (out, err)
        pair.append(d)
    latest_bench = pair[0]  # until ./scripts/bench made one
    # The results history of the README's ./scripts/bench run (never the source tree's).
    history_env = dict(os.environ, IPCBENCH_HISTORY=os.path.join(tmp, "bench-results",
                                                                 "history.sqlite"))
    # calibrate reads A/A rounds: two sides, round-1 ... round-3 each.
    rounds = []
    for side in ("a", "b"):
        d = os.path.join(tmp, "rounds-" + side)
        for r in range(1, 4):
            code, out, err = sh([ipcbench, "run", "--backend", "pipe", "--sync", "block",
                                 "--workload", "pingpong", "--size", "64", "--iterations", "2000",
                                 "--no-floors", "--out", os.path.join(d, "round-%d" % r)], root)
            assert code == 0, (out, err)
        rounds.append(d)
    ran = 0
    for cmd, comment in commands(readme):
        args = shlex.split(cmd)
        exe = args[0]
        print("README:", cmd, flush=True)
        if exe == "./scripts/test":
            print("  (not run from here: this test is part of ./scripts/test)")
            continue
        if exe == "./scripts/bench":
            env = dict(os.environ, IPCBENCH_RESULTS_DIR=os.path.join(tmp, "bench-results"))
            code, out, err = sh(args + ["--suite", "quick"] + RUN_NARROW, root, env)
            assert code == 0, (out[-3000:], err[-3000:])
            latest = os.path.join(tmp, "bench-results", "latest")
            for f in ("bench.json", "bench.csv", "summary.md", "index.html"):
                assert os.path.exists(os.path.join(latest, f)), f
            latest_bench = os.path.realpath(latest)
        elif exe == "scripts/ci-regression":
            out_dir = os.path.join(tmp, "gate")
            code, out, err = sh(
                ["scripts/ci-regression", "HEAD", "HEAD", "--rounds", "2", "--out", out_dir, "--",
                 "--backend", "pipe", "--sync", "block", "--workload", "pingpong", "--size", "64",
                 "--iterations", "200"], root, timeout=1200)
            assert code == 0, (out[-3000:], err[-3000:])
        elif exe.endswith("harness/ipcbench"):
            args[0] = ipcbench
            if args[1] == "run":
                check_run(args, comment, root, tmp)
            elif args[1] == "history":
                subst = {"results/latest": latest_bench, "FILE": os.path.join(tmp, "bmf.json")}
                code, out, err = sh([subst.get(w, w) for w in args], root, history_env)
                assert code == 0, (cmd, out[-2000:], err[-2000:])
            else:
                if args[1] == "conform":
                    # conformance.json goes to --out (default: the current folder): never the tree.
                    out_dir = tempfile.mkdtemp(dir=tmp)
                    args = (replace_out(args, out_dir) if "--out" in args
                            else args + ["--out", out_dir])
                code, out, err = sh(args, root)
                assert code == 0, (cmd, out[-2000:], err[-2000:])
        elif exe == "scripts/ipcreport":
            a, b = pair
            subst = {"results/latest": latest_bench, "A": a, "B": b, "BASE": a, "NEW": b,
                     "DIR": a, "F": os.path.join(tmp, "calibration.json"),
                     "FILE": os.path.join(tmp, "export.json"),
                     "calibration.json": os.path.join(tmp, "calibration.json")}
            if args[1] == "calibrate":
                subst.update({"A": rounds[0], "B": rounds[1]})
            if args[1] == "floors":
                # floors reads runs with the floors measured: three small ones.
                for r in range(1, 4):
                    d = os.path.join(tmp, "floors-%d" % r)
                    code, out, err = sh([ipcbench, "run", "--backend", "pipe", "--sync", "block",
                                         "--workload", "pingpong", "--size", "64",
                                         "--iterations", "200", "--floors", "start", "--out", d],
                                        root)
                    assert code == 0, (out, err)
                    subst["RUN%d" % r] = d
            cmd = re.sub(r"\[[^]]*\]", "", cmd)  # optional arguments
            variants = ([cmd.replace("bmf|gab", "bmf"), cmd.replace("bmf|gab", "gab")]
                        if "bmf|gab" in cmd else [cmd])
            for variant in variants:
                words = [subst.get(w, w) for w in shlex.split(variant)]
                if "--out" in words:
                    words = replace_out(words, tempfile.mkdtemp(dir=tmp))
                code, out, err = sh(words, root, history_env)
                assert code == 0, (words, code, out[-2000:], err[-2000:])
        else:
            raise AssertionError("README command this test does not know how to run: " + cmd)
        ran += 1
    assert ran >= 15, "only %d README commands ran" % ran
    print("ran %d README commands" % ran)
    # Its runs' results and history go (a failure keeps them, for a look).
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1])
