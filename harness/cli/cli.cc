// The CLI (see cli.h): parses, validates, then hands over to the suite, the
// benchmark registry and the writers. Bad input gets one line on stderr and
// exit status 2.
#include "harness/cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <type_traits>

#include "backends/backend.h"
#include "backends/sync/waiter.h"
#include "harness/cli/cli_common.h"
#include "harness/cli/cli_floors.h"
#include "harness/cli/cli_history.h"
#include "harness/cli/cli_hw.h"
#include "harness/cli/cli_inspect.h"
#include "harness/cli/cli_run.h"
#include "harness/run/environment.h"
#include "harness/run/workload.h"
#include "harness/sys/manifest.h"
#include "suites/conformance/runner.h"

namespace ipcb {

int cli_main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "peer") {
    return peer_main(std::vector<std::string>(argv + 2, argv + argc));
  }
  CLI::App app{"ipcbench: benchmarks and checks Linux IPC mechanisms"};
  app.set_version_flag("--version", std::string("ipcbench ") + kVersion);
  app.require_subcommand(1);
  app.add_subcommand("list", "list backends, waiters, workloads and the valid combinations");

  RunArgs ra;
  std::vector<std::string> w, b, s, z, mo, pl;
  // Numbers are read as text and checked here: one clear line for a negative, NaN or
  // out-of-range value, never a wrapped-around unsigned.
  std::string sleep_us, spin_us, reps, min_time, stall_ms, iterations;
  std::vector<std::string> fans, rates;
  std::string verify;
  bool dry_run_run = false;
  auto* run = app.add_subcommand("run", "run a suite; writes bench.json, bench.csv, summary.md");
  run->add_option("--suite", ra.suite, "suite name (suites/NAME.toml) or path")
      ->capture_default_str();
  run->add_option("--workload", w,
                  "workloads to run (comma-separated): pingpong, stream, fanin, fanout, rate")
      ->delimiter(',');
  run->add_option("--backend", b, "backends (comma-separated; see `ipcbench list`)")
      ->delimiter(',');
  run->add_option("--sync", s, "waiters / strategies (comma-separated)")->delimiter(',');
  run->add_option("--size", z,
                  "payload sizes, e.g. 64,4K,1M (K and M are powers of 1024), or ranges A..B "
                  "doubling from A up to B (8..64M: every power of two)")
      ->delimiter(',');
  run->add_option("--verify", verify, "full (checksum), seq (order and length) or off");
  run->add_option("--mode", mo,
                  "shared-memory copy modes (comma-separated): copy (copied in "
                  "and out), "
                  "inplace (built and checked in the ring slot)")
      ->delimiter(',');
  run->add_option("--placement", pl,
                  "where the sides run (comma-separated to sweep): cross (two CPUs, the "
                  "default with 2+ CPUs), same (one CPU), free (the scheduler decides); on the "
                  "CPU topology: smt, core, llc, socket, numa, all-pairs (see ipcbench topology)")
      ->delimiter(',');
  run->add_option("--pin", ra.pin,
                  "the two CPUs placements use, e.g. 0,1: cross puts the measured side on "
                  "the "
                  "first and the peers on the second, same puts everything on the first "
                  "(default: the first two CPUs this process may use)");
  run->add_option("--fan", fans,
                  "peer processes of fanin and fanout (comma-separated to sweep: 1,2,4,8; the "
                  "fan ends each name, /fanN)")
      ->delimiter(',');
  run->add_option("--rate", rates,
                  "offered rates of the rate workload, messages per second (comma-separated; "
                  "k, M, G are powers of 1000: 10k,100k,1M), or sweep: up to saturation, from a "
                  "capacity probe (the default)")
      ->delimiter(',');
  run->add_option("--sleep-us", sleep_us, "interval of the sleep waiter's nanosleep (µs)");
  run->add_option("--spin-us", spin_us, "how long the adaptive waiter spins before blocking (µs)");
  run->add_option("--repetitions", reps,
                  "repetitions of each benchmark (median and spread are reported)");
  run->add_option("--min-time", min_time,
                  "seconds each benchmark measures after its warm-up (the suite's min_time)");
  run->add_option("--iterations", iterations,
                  "a fixed number of iterations (round trips or messages) per benchmark, "
                  "instead of measuring for --min-time: quick smoke runs");
  run->add_option("--timeout-ms", stall_ms, "kill the peer after this long without progress");
  run->add_option("--out", ra.out, "output folder")->capture_default_str();
  ra.probe.add_to(run);
  run->add_option("--inject-ns", ra.inject_ns,
                  "add this many ns of busy work per message in the peer: a known slowdown, to "
                  "check what a regression gate can see (recorded in every result and in "
                  "context.comparability_key)");
  run->add_option("--inject-filter", ra.inject_filter,
                  "with --inject-ns: only benchmarks whose name matches this regular expression");
  run->add_flag("--dry-run", dry_run_run,
                "print the benchmarks the run would make (after --benchmark_filter) and their "
                "count, then exit without running anything");
  run->add_flag("--no-preflight", ra.no_preflight,
                "do not run the conformance tests of each transport first (a transport that "
                "fails them is otherwise not benchmarked)");
  run->add_flag("--perf", ra.perf,
                "count perf events per message on both sides: context switches, page faults, "
                "task clock, and instructions and cycles where a PMU allows (off by default: "
                "counting makes every context switch dearer)");
  run->add_option("--topology-root", ra.topology_root,
                  "read the CPU topology for the topology placements from DIR/sys/devices/"
                  "system/cpu and DIR/proc/self/status (a copy of another machine's tree; with "
                  "--dry-run: what its placements would run)")
      ->capture_default_str();
  run->add_flag("--verbose", ra.verbose,
                "print Google Benchmark's full table (every counter) and the configuration");
  run->add_flag("--no-floors", ra.no_floors,
                "do not measure the physical floors first (results then have no floor_ns, "
                "ceiling_bytes_per_second or ratio_to_floor)");
  run->add_option("--floors", ra.floors,
                  "when to measure the floors: start (once, before the benchmarks), each (also "
                  "right after every benchmark, for the ratio of that benchmark: on a VM the "
                  "floors move as the host moves the vCPUs) or off (default: the suite's, else "
                  "start)");
  run->allow_extras();
  run->footer(
      "Google Benchmark's own --benchmark_* flags are passed through; --benchmark_filter=REGEX "
      "selects by the names shown here (e.g. 'stream/posix_shm/spin/4096$'; a leading - "
      "excludes what matches).");

  ConformArgs ca;
  auto* conform = app.add_subcommand(
      "conform",
      "run the conformance suite (does this kernel behave as its man pages say?), each test in "
      "its own process; prints a mechanism x behaviour table with PASS, FAIL, SKIP (why) or "
      "BROKEN (the environment broke the set-up), writes conformance.json; exits 0 when "
      "something ran and nothing failed or broke, 1 on FAIL or BROKEN, 2 on bad input");
  conform->add_option("--out", ca.out, "folder for conformance.json")->capture_default_str();
  conform
      ->add_option("--test-timeout", ca.test_timeout_s,
                   "seconds a test may run before it is killed (with every process it made) "
                   "and reported as FAIL (timed out)")
      ->capture_default_str();
  conform->add_flag("--checklist", ca.checklist,
                    "also print, per mechanism, the checklist rows (checklist.tsv) covered by a "
                    "PASS, only skipped, failed or broken, and missing");
  conform->add_option("--from", ca.from,
                      "print the checklist coverage of this conformance.json; runs nothing");
  conform->allow_extras();
  conform->footer(
      "GoogleTest's --gtest_* flags are checked and applied (e.g. --gtest_filter=SysvShm.*, "
      "--gtest_list_tests, --gtest_repeat=N, --gtest_shuffle, --gtest_fail_fast, "
      "--gtest_output=xml:FILE for JUnit XML).");

  LimitsArgs la;
  auto* lim = app.add_subcommand(
      "limits", "configured and probed IPC limits of this machine, and what they skip");
  lim->add_flag("--json", la.json, "print one JSON object (the one bench.json carries)");
  la.probe.add_to(lim);
  lim->add_option("--suite", la.suite, "the suite whose skipped sizes to explain")
      ->capture_default_str();

  FloorsArgs fa;
  auto* floors = app.add_subcommand(
      "floors", "measure this machine's physical floors (what no IPC mechanism can beat)");
  floors->add_option("--size", fa.sizes, "payload sizes (K, M: powers of 1024)")
      ->delimiter(',')
      ->capture_default_str();
  floors->add_option("--placement", fa.placements, "cross, same or free (comma-separated)")
      ->delimiter(',');
  floors->add_option("--pin", fa.pin, "the two CPUs, e.g. 0,1 (default: the first two allowed)");
  floors->add_option("--budget", fa.budget_s, "seconds to spend in all")->capture_default_str();
  floors->add_flag("--json", fa.json,
                   "print JSON (the object bench.json carries in context.floors)");

  auto* history = app.add_subcommand(
      "history",
      "the results history: `history add RESULT_DIR` stores a run in one SQLite file "
      "(results/history.sqlite), `history list`, `history export --format bmf` (a file, or "
      "pushed to a Bencher server); runs scripts/ipcreport history (Python), whose --help "
      "(ipcbench history add --help, ...) has the options");
  history->prefix_command();
  history->footer(
      "Runs `ipcreport history ARGS` (the ipcreport beside this binary, else the source "
      "tree's scripts/ipcreport; $IPCBENCH_IPCREPORT names another). Charts of the history: "
      "scripts/ipcreport trend.");
  TopologyArgs ta;
  auto* topo =
      app.add_subcommand("topology",
                         "the CPU topology (SMT siblings, cores, last-level caches, packages, NUMA "
                         "nodes, usable CPUs) and which placements it allows");
  topo->add_option("--root", ta.root, "read DIR/sys/devices/system/cpu (a copy of a tree)")
      ->capture_default_str();
  topo->add_flag("--json", ta.json, "print one JSON object (the one bench.json carries)");

  bool dry_run = false;
  auto* clean =
      app.add_subcommand("clean", "remove IPC objects left by runs whose process is gone");
  clean->add_flag("--dry-run", dry_run, "only list what would be removed");

  auto known = [&](const std::string& name) {
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == name) return true;
    }
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
    return usage_error(std::string("unknown command '") + argv[1] +
                       "' (list, run, conform, limits, floors, topology, clean, history; "
                       "see ipcbench --help)");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, ours: CLI11's own text takes two and names no command.
    std::string what = e.what();
    for (auto& c : what) c = c == '\n' ? ' ' : c;
    return usage_error(what + " (see ipcbench " +
                       (argc > 1 && argv[1][0] != '-' ? std::string(argv[1]) + " " : "") +
                       "--help)");
  }
  if (app.got_subcommand("list")) return cmd_list();
  if (app.got_subcommand("clean")) return cmd_clean(dry_run);
  if (app.got_subcommand("limits")) return cmd_limits(la);
  if (app.got_subcommand("floors")) return cmd_floors(fa);
  if (app.got_subcommand("history")) return cmd_history(history->remaining());
  if (app.got_subcommand("topology")) return cmd_topology(ta);
  if (app.got_subcommand("conform")) {
    for (const auto& extra : conform->remaining()) {
      if (extra.rfind("--gtest_", 0) != 0)
        return usage_error("unknown option '" + extra + "' (see ipcbench conform --help)");
      ca.gtest_flags.push_back(extra);
    }
    manifest::install_signal_handlers();
    return run_conformance(ca);
  }
  for (const auto& extra : run->remaining()) {
    if (extra.rfind("--benchmark_", 0) != 0)
      return usage_error("unknown option '" + extra + "' (see ipcbench run --help)");
    ra.gbench.push_back(extra);
  }
  ra.o.workloads = split_all(w);
  ra.o.backends = split_all(b);
  ra.o.syncs = split_all(s);
  ra.o.sizes = split_all(z);
  ra.o.modes = split_all(mo);
  ra.o.placements = split_all(pl);
  if (ra.pin == "none") {  // the older spelling of --placement free
    ra.pin.clear();
    ra.o.placements = {"free"};
  }
  auto number = [&](const char* flag, const std::string& text, int64_t lo, int64_t hi,
                    auto& into) -> bool {
    if (!run->count(flag)) return true;
    auto v = parse_int(text, flag, lo, hi);
    if (!v) return usage_error(v.error().message()), false;
    into = static_cast<std::remove_reference_t<decltype(*into)>>(*v);
    return true;
  };
  for (const auto& f : split_all(fans)) {
    auto v = parse_int(f, "--fan", 1, manifest::kMaxPeers);
    if (!v) return usage_error(v.error().message());
    ra.o.fans.push_back(static_cast<int>(*v));
  }
  if (run->count("--fan") && ra.o.fans.empty()) return usage_error("--fan: empty list");
  ra.o.rates = split_all(rates);
  if (run->count("--rate") && ra.o.rates.empty()) return usage_error("--rate: empty list");
  if (!number("--sleep-us", sleep_us, 0, 1'000'000, ra.o.sleep_us) ||
      !number("--spin-us", spin_us, 0, 1'000'000, ra.o.spin_us) ||
      !number("--repetitions", reps, 1, 1000, ra.o.repetitions) ||
      !number("--timeout-ms", stall_ms, 100, 3'600'000, ra.o.stall_ms)) {
    return kExitUsage;
  }
  if (run->count("--iterations")) {
    auto n = parse_int(iterations, "--iterations", 1, 1'000'000'000);
    if (!n) return usage_error(n.error().message());
    ra.iterations = static_cast<uint64_t>(*n);
  }
  if (run->count("--min-time")) {
    auto t = parse_seconds(min_time, "--min-time", 0, 3600);
    if (!t) return usage_error(t.error().message());
    ra.o.min_time_s = *t;
  }
  if (!verify.empty()) ra.o.verify = verify;
  if (run->count("--size") && ra.o.sizes.empty()) return usage_error("--size: empty size list");
  if (run->count("--out") && ra.out.empty()) return usage_error("--out: an empty folder name");
  // With no --suite, the matrix flags define the run (see SuiteOverrides::exact).
  ra.o.exact = run->count("--suite") == 0;
  ra.dry_run = dry_run_run;
  return cmd_run(ra);
}

}  // namespace ipcb
