// The CLI (see cli.h): parses, validates, then hands over to the suite, the
// benchmark registry and the writers. Bad input gets one line on stderr and
// exit status 2.
#include "harness/cli.h"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "backends/backend.h"
#include "backends/mmap_file.h"
#include "backends/sync/waiter.h"
#include "harness/environment.h"
#include "harness/limits.h"
#include "harness/manifest.h"
#include "harness/report.h"
#include "harness/suite.h"
#include "harness/sys.h"
#include "harness/workload.h"
#include "suites/bench/register.h"
#include "suites/conformance/runner.h"

namespace ipcb {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int usage_error(const std::string& line) {
  std::fprintf(stderr, "ipcbench: %s\n", line.c_str());
  return kExitUsage;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> split_all(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) {
    auto parts = split(s);
    out.insert(out.end(), parts.begin(), parts.end());
  }
  return out;
}

int cmd_list() {
  std::printf("Backends (how the bytes travel):\n");
  for (const auto& b : backends()) std::printf("  %-14s %-6s %s\n", b.name, b.kind, b.description);
  std::printf("\nShared-memory waiters (how a side learns of progress):\n");
  for (const auto& w : waiters()) std::printf("  %-10s %s\n", w.name, w.description);
  std::printf("\nKernel-channel strategies:\n");
  std::printf("  %-10s %s\n", "block", "blocking calls (read/write, msgrcv, mq_timedreceive...)");
  std::printf("  %-10s %s\n", "poll", "O_NONBLOCK, then poll(2) until ready");
  std::printf("  %-10s %s\n", "busy", "O_NONBLOCK, retried in a loop; never sleeps");
  std::printf("\nCopy modes (shared-memory backends; kernel channels always copy):\n");
  std::printf("  %-10s %s\n", "copy", "memcpy into the ring, memcpy out: 2 copies per message");
  std::printf("  %-10s %s\n", "inplace", "built in the ring slot, checked in place: 0 copies");
  std::printf("\nPlacements:\n");
  std::printf("  %-10s %s\n", "cross", "the two sides pinned to different CPUs (default, 2+ CPUs)");
  std::printf("  %-10s %s\n", "same", "both sides pinned to one CPU");
  std::printf("  %-10s %s\n", "free", "not pinned: the scheduler decides");
  std::printf("\nWorkloads:\n");
  for (const auto& w : workloads()) std::printf("  %-10s %s\n", w.name, w.description);
  std::printf("\nSize limits on this machine (checked against a 64 MiB payload):\n");
  for (const auto& b : backends()) {
    std::string why = b.size_limit(sizeof(FrameHeader) + kMaxPayload);
    std::printf("  %-14s %s\n", b.name, why.empty() ? "64M payloads fit" : why.c_str());
  }
  std::vector<std::string> syncs;
  for (const auto& b : backends()) {
    for (const auto& s : b.syncs()) {
      if (std::find(syncs.begin(), syncs.end(), s) == syncs.end()) syncs.push_back(s);
    }
  }
  std::printf(
      "\nValid combinations (every workload runs on every valid "
      "pair):\n  %-14s",
      "");
  for (const auto& s : syncs) std::printf(" %-9s", s.c_str());
  std::printf("\n");
  for (const auto& b : backends()) {
    std::printf("  %-14s", b.name);
    for (const auto& s : syncs) std::printf(" %-9s", sync_valid_for(b, s) ? "yes" : "-");
    std::printf("\n");
  }
  return 0;
}

int cmd_clean(bool dry_run) {
  auto r = manifest::clean(dry_run);
  if (!r) return usage_error(r.error().message());
  for (const auto& l : *r) {
    std::printf("%s %s %s (owner pid %d is gone)\n", dry_run ? "would remove" : "removed",
                manifest::kind_name(l.kind), l.name.c_str(), static_cast<int>(l.owner));
  }
  if (r->empty()) std::printf("nothing to clean\n");
  return 0;
}

Status prepare_out_dir(const std::string& dir) {
  // mkdir -p
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string prefix = dir.substr(0, i);
      if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        return errno_error("mkdir", prefix, "the output folder cannot be created");
      }
    }
  }
  std::string probe = dir + "/.ipcbench-write-test";
  auto fd = sys::open_file(probe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!fd) return Error{"open", probe, fd.error().err, "the output folder is not writable"};
  fd->reset();
  return sys::unlink_path(probe);
}

// The CPUs placements use: --pin A,B, else the first two this process may run
// on.
Result<CpuChoice> choose_cpus(const std::string& pin) {
  auto allowed = sys::allowed_cpus();
  if (pin.empty()) {
    if (allowed.empty()) return CpuChoice{};
    return CpuChoice{allowed[0], allowed.size() >= 2 ? allowed[1] : -1};
  }
  auto parts = split(pin);
  if (parts.size() != 2) return plain_error("--pin '" + pin + "'", "expected two CPUs, e.g. 0,1");
  int cpus[2];
  for (int i = 0; i < 2; ++i) {
    char* end = nullptr;
    long v = std::strtol(parts[static_cast<size_t>(i)].c_str(), &end, 10);
    if (*end != '\0' || v < 0 ||
        std::find(allowed.begin(), allowed.end(), static_cast<int>(v)) == allowed.end()) {
      return plain_error("--pin '" + pin + "'", "CPU " + parts[static_cast<size_t>(i)] +
                                                    " is not one this process may run on");
    }
    cpus[i] = static_cast<int>(v);
  }
  if (cpus[0] == cpus[1]) {
    return plain_error("--pin '" + pin + "'",
                       "give two different CPUs; --placement same runs both "
                       "sides on the first");
  }
  return CpuChoice{cpus[0], cpus[1]};
}

std::string utc_now() {
  char buf[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "256M", "1G", "65536": bytes, with K/M/G/T as powers of 1024.
Result<uint64_t> parse_bytes(const std::string& text, const char* flag) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  int shift = 0;
  if (end != nullptr && *end != '\0') {
    std::string suffix = end;
    const std::string units = "KMGT";
    auto u = suffix.size() == 1 ? units.find(static_cast<char>(std::toupper(suffix[0])))
                                : std::string::npos;
    if (u == std::string::npos) {
      return plain_error(std::string(flag) + " '" + text + "'", "expected bytes, e.g. 256M");
    }
    shift = 10 * (static_cast<int>(u) + 1);
  }
  if (end == text.c_str() || v == 0 || v > (UINT64_MAX >> shift)) {
    return plain_error(std::string(flag) + " '" + text + "'", "expected bytes, e.g. 256M");
  }
  return static_cast<uint64_t>(v) << shift;
}

// Moves the specs a probe shows cannot run here into the skipped list, naming the real limit.
void skip_probed(const limits::Limits& l, Expansion& ex) {
  std::vector<BenchSpec> keep;
  for (auto& sp : ex.specs) {
    std::string why =
        limits::probed_size_limit(l, sp.backend, sizeof(FrameHeader) + sp.payload_bytes);
    if (why.empty()) {
      keep.push_back(std::move(sp));
    } else {
      ex.skipped.push_back({sp.name(), why});
    }
  }
  ex.specs = std::move(keep);
}

// --max-probe-bytes and --no-probe, shared by `limits` and `run`.
struct ProbeArgs {
  std::string max_probe_bytes = "256M";
  bool no_probe = false;
  void add_to(CLI::App* app) {
    app->add_option("--max-probe-bytes", max_probe_bytes,
                    "memory a limit probe may touch at once (K, M, G: powers of 1024)")
        ->capture_default_str();
    app->add_flag("--no-probe", no_probe, "configured limits only: the probes create nothing");
  }
  Result<limits::Options> options() const {
    IPCB_TRY(uint64_t cap, parse_bytes(max_probe_bytes, "--max-probe-bytes"));
    if (cap < 64 * 1024) return plain_error("--max-probe-bytes " + max_probe_bytes, "at least 64K");
    limits::Options o;
    o.max_probe_bytes = cap;
    o.probe = !no_probe;
    return o;
  }
};

struct LimitsArgs {
  bool json = false;
  ProbeArgs probe;
  std::string suite = "default";
};

int cmd_limits(const LimitsArgs& a) {
  auto o = a.probe.options();
  if (!o) return usage_error(o.error().message());
  auto suite = load_suite(a.suite);
  if (!suite) return usage_error(suite.error().message());
  manifest::install_signal_handlers();
  limits::Limits l = limits::collect(*o);
  if (a.json) {
    std::printf("%s\n", limits::to_json(l).dump(2).c_str());
    return 0;
  }
  std::printf("%s", limits::format_table(l).c_str());
  auto cpus = choose_cpus("");
  if (!cpus) return usage_error(cpus.error().message());
  auto expansion = expand(*suite, *cpus);
  if (!expansion) return usage_error(expansion.error().message());
  skip_probed(l, *expansion);
  auto lines = limits::advice_lines(expansion->skipped);
  std::printf("\nSizes of suite '%s' these limits skip:%s\n", suite->name.c_str(),
              lines.empty() ? " none" : "");
  for (const auto& line : lines) std::printf("  %s\n", line.c_str());
  return 0;
}

struct RunArgs {
  std::string suite = "default";
  ProbeArgs probe;
  SuiteOverrides o;
  std::string pin;
  std::string out = "ipcbench-results";
  std::vector<std::string> gbench;  // --benchmark_* passed through
};

int cmd_run(const RunArgs& a) {
  auto probe_options = a.probe.options();
  if (!probe_options) return usage_error(probe_options.error().message());
  auto suite = load_suite(a.suite);
  if (!suite) return usage_error(suite.error().message());
  if (auto st = apply_overrides(*suite, a.o); !st) return usage_error(st.error().message());
  auto cpus = choose_cpus(a.pin);
  if (!cpus) return usage_error(cpus.error().message());
  auto expansion = expand(*suite, *cpus);
  if (!expansion) return usage_error(expansion.error().message());
  const auto& specs = expansion->specs;
  if (specs.empty() && expansion->skipped.empty()) {
    return usage_error("the suite and options select no benchmark");
  }
  if (auto st = prepare_out_dir(a.out); !st) return usage_error(st.error().message());
  manifest::install_signal_handlers();
  // Backends skipped sizes by the configured limits; the probes catch what cannot really be had.
  limits::Limits run_limits = limits::collect(*probe_options);
  skip_probed(run_limits, *expansion);

  std::vector<Placement> placements;
  for (const auto& sp : specs) {
    bool known = std::any_of(placements.begin(), placements.end(),
                             [&](const Placement& p) { return p.name == sp.placement.name; });
    if (!known) placements.push_back(sp.placement);
  }
  nlohmann::json env = capture_environment(placements);  // before any thread is pinned
  nlohmann::json matrices = nlohmann::json::array();
  for (const auto& m : suite->matrices) {
    matrices.push_back({{"workloads", m.workloads},
                        {"backends", m.backends},
                        {"syncs", m.syncs},
                        {"sizes", m.sizes},
                        {"modes", m.modes},
                        {"placements", m.placements}});
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& sk : expansion->skipped) {
    skipped.push_back({{"name", sk.name}, {"reason", sk.reason}});
  }
  nlohmann::json config = {
      {"suite", suite->name},
      {"matrices", matrices},
      {"verify", verify_name(suite->verify)},
      {"min_time_s", suite->min_time_s},
      {"repetitions", suite->repetitions},
      {"stall_ms", suite->stall_ms},
      {"fan", suite->fan},
      {"sleep_us", suite->sleep_us},
      {"spin_us", suite->spin_us},
      {"cpus", {cpus->first, cpus->second}},
      {"benchmarks", specs.size()},
      {"skipped", expansion->skipped.size()},
      {"mmap_dir", mmap_file_directory()},
  };
  std::string where;
  for (const auto& p : placements) {
    where += (where.empty() ? "" : "; ") + p.name + " (measured side CPU " +
             std::to_string(p.cpu_self) + ", peers CPU " + std::to_string(p.cpu_peer) + ")";
  }
  std::printf(
      "ipcbench %s: suite %s, %zu benchmarks, %zu skipped, placement "
      "%s, verify %s, output %s\n",
      kVersion, suite->name.c_str(), specs.size(), expansion->skipped.size(), where.c_str(),
      verify_name(suite->verify), a.out.c_str());
  std::printf("effective configuration: %s\n", config.dump().c_str());
  for (const auto& sk : expansion->skipped) {
    std::printf("skipped %s: %s\n", sk.name.c_str(), sk.reason.c_str());
  }
  for (const auto& line : limits::advice_lines(expansion->skipped)) {
    std::printf("limit: %s\n", line.c_str());
  }
  std::fflush(stdout);

  RunTally tally;
  register_benchmarks(specs, tally);
  std::string bench_json = a.out + "/bench.json";
  std::vector<std::string> gb = {"ipcbench", "--benchmark_out=" + bench_json,
                                 "--benchmark_out_format=json"};
  auto user_gave = [&](const std::string& flag) {
    for (const auto& g : a.gbench) {
      if (g.rfind(flag, 0) == 0) return true;
    }
    return false;
  };
  if (!user_gave("--benchmark_min_time")) {
    gb.push_back("--benchmark_min_time=" + std::to_string(suite->min_time_s));
  }
  if (!user_gave("--benchmark_repetitions")) {
    gb.push_back("--benchmark_repetitions=" + std::to_string(suite->repetitions));
  }
  gb.insert(gb.end(), a.gbench.begin(), a.gbench.end());
  std::vector<char*> argv;
  for (auto& s : gb) argv.push_back(s.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);
  benchmark::Initialize(&argc, argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, argv.data())) return kExitUsage;
  std::string started = utc_now();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  nlohmann::json extra = env;
  extra["ipcbench_config"] = config;
  extra["ipcbench_skipped"] = skipped;
  extra["verify"] = verify_name(suite->verify);
  extra["date"] = started;
  extra["ipcbench_failures"] = tally.failures;
  extra["limits"] = limits::to_json(run_limits);
  if (auto st = add_context(bench_json, extra, tally.fields); !st) {
    std::fprintf(stderr, "ipcbench: %s\n", st.error().message().c_str());
    return kExitFailed;
  }
  auto bench = read_json(bench_json);
  if (!bench) return usage_error(bench.error().message());
  if (auto st = write_text(a.out + "/bench.csv", format_csv(*bench)); !st) {
    return usage_error(st.error().message());
  }
  if (auto st = write_text(a.out + "/summary.md", format_summary(*bench)); !st) {
    return usage_error(st.error().message());
  }
  std::printf("\nwrote %s/bench.json, bench.csv, summary.md\n", a.out.c_str());
  if (!tally.failures.empty()) {
    std::fprintf(stderr, "\nipcbench: %zu benchmark(s) FAILED:\n", tally.failures.size());
    for (const auto& f : tally.failures) std::fprintf(stderr, "  %s\n", f.c_str());
    return kExitFailed;
  }
  return 0;
}

}  // namespace

int cli_main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "peer") {
    return peer_main(std::vector<std::string>(argv + 2, argv + argc));
  }
  CLI::App app{"ipcbench: benchmarks and checks Linux IPC mechanisms"};
  app.require_subcommand(1);
  app.add_subcommand("list", "list backends, waiters, workloads and the valid combinations");

  RunArgs ra;
  std::vector<std::string> w, b, s, z, mo, pl;
  int fan = 0;
  uint64_t sleep_us = 0, spin_us = 0;
  std::string verify;
  int reps = 0;
  double min_time = 0;
  uint64_t stall_ms = 0;
  auto* run = app.add_subcommand("run", "run a suite; writes bench.json, bench.csv, summary.md");
  run->add_option("--suite", ra.suite, "suite name (suites/NAME.toml) or path")
      ->capture_default_str();
  run->add_option("--workload", w,
                  "workloads to run (comma-separated): pingpong, stream, fanin, fanout")
      ->delimiter(',');
  run->add_option("--backend", b, "backends (comma-separated; see `ipcbench list`)")
      ->delimiter(',');
  run->add_option("--sync", s, "waiters / strategies (comma-separated)")->delimiter(',');
  run->add_option("--size", z, "payload sizes, e.g. 64,4K,1M (K and M are powers of 1024)")
      ->delimiter(',');
  run->add_option("--verify", verify, "full (checksum), seq (order and length) or off");
  run->add_option("--mode", mo,
                  "shared-memory copy modes (comma-separated): copy (memcpy in "
                  "and out), "
                  "inplace (built and checked in the ring slot)")
      ->delimiter(',');
  run->add_option("--placement", pl,
                  "where the sides run (comma-separated to sweep): cross (two CPUs, the "
                  "default with 2+ CPUs), same (one CPU), free (the scheduler decides)")
      ->delimiter(',');
  run->add_option("--pin", ra.pin,
                  "the two CPUs placements use, e.g. 0,1: cross puts the measured side on "
                  "the "
                  "first and the peers on the second, same puts everything on the first "
                  "(default: the first two CPUs this process may use)");
  run->add_option("--fan", fan, "peer processes of fanin and fanout");
  run->add_option("--sleep-us", sleep_us, "interval of the sleep waiter's nanosleep (µs)");
  run->add_option("--spin-us", spin_us, "how long the adaptive waiter spins before blocking (µs)");
  run->add_option("--repetitions", reps,
                  "repetitions of each benchmark (median and spread are reported)");
  run->add_option("--min-time", min_time, "minimum seconds per benchmark");
  run->add_option("--timeout-ms", stall_ms, "kill the peer after this long without progress");
  run->add_option("--out", ra.out, "output folder")->capture_default_str();
  ra.probe.add_to(run);
  run->allow_extras();
  run->footer(
      "Google Benchmark's own --benchmark_* flags are passed through (e.g. "
      "--benchmark_filter=pingpong).");

  std::string conform_out = ".";
  auto* conform = app.add_subcommand("conform",
                                     "run the conformance suite (does this kernel behave as its "
                                     "man pages say?); prints a "
                                     "mechanism x behaviour table, writes conformance.json, exits "
                                     "1 on any FAIL");
  conform->add_option("--out", conform_out, "folder for conformance.json")->capture_default_str();
  conform->allow_extras();
  conform->footer(
      "GoogleTest's --gtest_* flags are passed through (e.g. "
      "--gtest_filter=SysvShm.*).");

  LimitsArgs la;
  auto* lim = app.add_subcommand(
      "limits", "configured and probed IPC limits of this machine, and what they skip");
  lim->add_flag("--json", la.json, "print one JSON object (the one bench.json carries)");
  la.probe.add_to(lim);
  lim->add_option("--suite", la.suite, "the suite whose skipped sizes to explain")
      ->capture_default_str();

  bool dry_run = false;
  auto* clean =
      app.add_subcommand("clean", "remove IPC objects left by runs whose process is gone");
  clean->add_flag("--dry-run", dry_run, "only list what would be removed");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.got_subcommand("list")) return cmd_list();
  if (app.got_subcommand("clean")) return cmd_clean(dry_run);
  if (app.got_subcommand("limits")) return cmd_limits(la);
  if (app.got_subcommand("conform")) {
    std::vector<std::string> args = {"--out", conform_out};
    for (const auto& extra : conform->remaining()) {
      if (extra.rfind("--gtest_", 0) != 0)
        return usage_error("unknown option '" + extra + "' (see ipcbench conform --help)");
      args.push_back(extra);
    }
    if (auto st = prepare_out_dir(conform_out); !st) return usage_error(st.error().message());
    manifest::install_signal_handlers();
    return run_conformance(args);
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
  if (run->count("--fan")) ra.o.fan = fan;
  if (run->count("--sleep-us")) ra.o.sleep_us = sleep_us;
  if (run->count("--spin-us")) ra.o.spin_us = spin_us;
  if (!verify.empty()) ra.o.verify = verify;
  if (run->count("--repetitions")) ra.o.repetitions = reps;
  if (run->count("--min-time")) ra.o.min_time_s = min_time;
  if (run->count("--timeout-ms")) ra.o.stall_ms = stall_ms;
  if (run->count("--size") && ra.o.sizes.empty()) return usage_error("--size: empty size list");
  return cmd_run(ra);
}

}  // namespace ipcb
