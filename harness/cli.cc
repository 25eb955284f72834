// The CLI (see cli.h): parses, validates, then hands over to the suite, the benchmark registry
// and the writers. Bad input gets one line on stderr and exit status 2.
#include "harness/cli.h"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "backends/backend.h"
#include "backends/mmap_file.h"
#include "backends/sync/waiter.h"
#include "harness/environment.h"
#include "harness/manifest.h"
#include "harness/report.h"
#include "harness/suite.h"
#include "harness/sys.h"
#include "harness/workload.h"
#include "suites/bench/register.h"

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
  for (const auto& b : backends()) std::printf("  %-10s %-6s %s\n", b.name, b.kind, b.description);
  std::printf("\nShared-memory waiters (how a side learns of progress):\n");
  for (const auto& w : waiters()) std::printf("  %-10s %s\n", w.name, w.description);
  std::printf("\nKernel-channel strategies:\n  %-10s %s\n", "block", "blocking read/write");
  std::printf("\nWorkloads:\n");
  for (const auto& w : workloads()) std::printf("  %-10s %s\n", w.name, w.description);
  std::vector<std::string> syncs;
  for (const auto& b : backends()) {
    for (const auto& s : b.syncs()) {
      if (std::find(syncs.begin(), syncs.end(), s) == syncs.end()) syncs.push_back(s);
    }
  }
  std::printf("\nValid combinations (every workload runs on every valid pair):\n  %-10s", "");
  for (const auto& s : syncs) std::printf(" %-9s", s.c_str());
  std::printf("\n");
  for (const auto& b : backends()) {
    std::printf("  %-10s", b.name);
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

Result<Placement> choose_placement(const std::string& pin) {
  auto allowed = sys::allowed_cpus();
  auto ok_cpu = [&](int c) {
    return std::find(allowed.begin(), allowed.end(), c) != allowed.end();
  };
  if (pin == "none") return Placement{"free", -1, -1};
  if (pin.empty()) {
    if (allowed.size() >= 2) return Placement{"cross", allowed[0], allowed[1]};
    return Placement{"same", allowed.empty() ? 0 : allowed[0], allowed.empty() ? 0 : allowed[0]};
  }
  auto parts = split(pin);
  if (parts.size() != 2)
    return plain_error("--pin '" + pin + "'", "expected two CPUs, e.g. 0,1, or none");
  int cpus[2];
  for (int i = 0; i < 2; ++i) {
    char* end = nullptr;
    long v = std::strtol(parts[static_cast<size_t>(i)].c_str(), &end, 10);
    if (*end != '\0' || v < 0 || !ok_cpu(static_cast<int>(v))) {
      return plain_error("--pin '" + pin + "'", "CPU " + parts[static_cast<size_t>(i)] +
                                                    " is not one this process may run on");
    }
    cpus[i] = static_cast<int>(v);
  }
  return Placement{cpus[0] == cpus[1] ? "same" : "cross", cpus[0], cpus[1]};
}

std::string utc_now() {
  char buf[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct RunArgs {
  std::string suite = "default";
  SuiteOverrides o;
  std::string pin;
  std::string out = "ipcbench-results";
  std::vector<std::string> gbench;  // --benchmark_* passed through
};

int cmd_run(const RunArgs& a) {
  auto suite = load_suite(a.suite);
  if (!suite) return usage_error(suite.error().message());
  if (auto st = apply_overrides(*suite, a.o); !st) return usage_error(st.error().message());
  auto placement = choose_placement(a.pin);
  if (!placement) return usage_error(placement.error().message());
  auto specs = expand(*suite, placement->cpu_self, placement->cpu_peer);
  if (!specs) return usage_error(specs.error().message());
  if (auto st = prepare_out_dir(a.out); !st) return usage_error(st.error().message());

  manifest::install_signal_handlers();
  if (placement->cpu_self >= 0) {
    if (auto st = sys::pin_to_cpu(0, placement->cpu_self); !st)
      return usage_error(st.error().message());
  }
  nlohmann::json config = {
      {"suite", suite->name},
      {"workloads", suite->workloads},
      {"backends", suite->backends},
      {"syncs", suite->syncs},
      {"sizes", suite->sizes},
      {"verify", verify_name(suite->verify)},
      {"min_time_s", suite->min_time_s},
      {"repetitions", suite->repetitions},
      {"stall_ms", suite->stall_ms},
      {"benchmarks", specs->size()},
      {"mmap_dir", mmap_file_directory()},
  };
  std::printf(
      "ipcbench %s: suite %s, %zu benchmarks, placement %s (measured side CPU %d, peer "
      "CPU %d), verify %s, output %s\n",
      kVersion, suite->name.c_str(), specs->size(), placement->name.c_str(), placement->cpu_self,
      placement->cpu_peer, verify_name(suite->verify), a.out.c_str());
  std::printf("effective configuration: %s\n", config.dump().c_str());
  std::fflush(stdout);

  RunTally tally;
  register_benchmarks(*specs, tally);
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

  nlohmann::json extra = capture_environment(*placement);
  extra["ipcbench_config"] = config;
  extra["verify"] = verify_name(suite->verify);
  extra["date"] = started;
  extra["ipcbench_failures"] = tally.failures;
  if (auto st = add_context(bench_json, extra); !st) {
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
  std::vector<std::string> w, b, s, z;
  std::string verify;
  int reps = 0;
  double min_time = 0;
  uint64_t stall_ms = 0;
  auto* run = app.add_subcommand("run", "run a suite; writes bench.json, bench.csv, summary.md");
  run->add_option("--suite", ra.suite, "suite name (suites/NAME.toml) or path")
      ->capture_default_str();
  run->add_option("--workload", w, "workloads to run (comma-separated): pingpong, stream")
      ->delimiter(',');
  run->add_option("--backend", b, "backends (comma-separated; see `ipcbench list`)")
      ->delimiter(',');
  run->add_option("--sync", s, "waiters / strategies (comma-separated)")->delimiter(',');
  run->add_option("--size", z, "payload sizes, e.g. 64,4K,1M (K and M are powers of 1024)")
      ->delimiter(',');
  run->add_option("--verify", verify, "full (checksum), seq (order and length) or off");
  run->add_option("--pin", ra.pin,
                  "CPUs for measured side and peer, e.g. 0,1 (default: the first two allowed "
                  "CPUs); none = free");
  run->add_option("--repetitions", reps,
                  "repetitions of each benchmark (median and spread are reported)");
  run->add_option("--min-time", min_time, "minimum seconds per benchmark");
  run->add_option("--timeout-ms", stall_ms, "kill the peer after this long without progress");
  run->add_option("--out", ra.out, "output folder")->capture_default_str();
  run->allow_extras();
  run->footer(
      "Google Benchmark's own --benchmark_* flags are passed through (e.g. "
      "--benchmark_filter=pingpong).");

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
  for (const auto& extra : run->remaining()) {
    if (extra.rfind("--benchmark_", 0) != 0)
      return usage_error("unknown option '" + extra + "' (see ipcbench run --help)");
    ra.gbench.push_back(extra);
  }
  ra.o.workloads = split_all(w);
  ra.o.backends = split_all(b);
  ra.o.syncs = split_all(s);
  ra.o.sizes = split_all(z);
  if (!verify.empty()) ra.o.verify = verify;
  if (run->count("--repetitions")) ra.o.repetitions = reps;
  if (run->count("--min-time")) ra.o.min_time_s = min_time;
  if (run->count("--timeout-ms")) ra.o.stall_ms = stall_ms;
  if (run->count("--size") && ra.o.sizes.empty()) return usage_error("--size: empty size list");
  return cmd_run(ra);
}

}  // namespace ipcb
