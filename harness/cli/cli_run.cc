// `ipcbench run` (see cli_run.h).
#include "harness/cli/cli_run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>

#include "backends/mmap_file.h"
#include "harness/cli/cli_floors.h"
#include "harness/cli/cli_gbench.h"
#include "harness/cli/cli_hw.h"
#include "harness/cli/cli_rate.h"
#include "harness/report/report.h"
#include "harness/run/environment.h"
#include "harness/sys/manifest.h"
#include "suites/bench/preflight.h"
#include "suites/bench/register.h"
#include "suites/bench/run.h"

namespace ipcb {
namespace runner {
// The commit the binary was built from ("" outside a checkout), "-dirty" appended when the tree
// had changes: generated at build time (suites/conformance/git_commit.cmake).
const char* build_commit();
}  // namespace runner

// A matrix in the run's config: every field under its own name.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Matrix, workloads, backends, syncs, sizes, modes, placements)

namespace {

constexpr double kFloorsBudgetS = 1.0;      // the floors of a run's placements, in all
constexpr double kFloorsEachBudgetS = 0.2;  // with --floors each: after every benchmark

// --inject-ns: the busy work goes to the benchmarks the filter names (all without one).
Status apply_inject(const RunArgs& a, std::vector<BenchSpec>& specs) {
  if (a.inject_ns > kMaxInjectNs) {
    return plain_error("--inject-ns " + std::to_string(a.inject_ns),
                       "at most " + std::to_string(kMaxInjectNs) + " ns per message");
  }
  if (!a.inject_filter.empty() && a.inject_ns == 0) {
    return plain_error("--inject-filter", "needs --inject-ns");
  }
  std::regex re;
  try {
    re = std::regex(a.inject_filter.empty() ? ".*" : a.inject_filter);
  } catch (const std::regex_error& e) {
    return plain_error("--inject-filter '" + a.inject_filter + "'",
                       std::string("not a regular expression: ") + e.what());
  }
  bool any = a.inject_ns == 0;
  for (auto& sp : specs) {
    if (a.inject_ns != 0 && std::regex_search(sp.name(), re)) {
      sp.inject_ns = a.inject_ns;
      any = true;
    }
  }
  if (!any) return plain_error("--inject-filter '" + a.inject_filter + "'", "matches no benchmark");
  return ok_status();
}

// The rates as configured: numbers, and "sweep" when a sweep was asked for.
nlohmann::json rates_config(const Suite& suite) {
  nlohmann::json r = suite.rates;
  if (suite.rate_sweep) r.push_back("sweep");
  return r;
}

nlohmann::json describe_config(const Suite& suite, const CpuChoice& cpus, const Expansion& ex,
                               int repetitions, const RunArgs& a) {
  nlohmann::json matrices = nlohmann::json::array();
  for (const auto& m : suite.matrices) matrices.push_back(m);
  return {
      {"suite", suite.name},
      {"matrices", matrices},
      {"verify", verify_name(suite.verify)},
      {"min_time_s", suite.min_time_s},
      {"repetitions", repetitions},
      {"stall_ms", suite.stall_ms},
      {"fan", suite.fans.front()},
      {"fans", suite.fans},
      {"rates", rates_config(suite)},
      {"sleep_us", suite.sleep_us},
      {"spin_us", suite.spin_us},
      {"cpus", {cpus.first, cpus.second}},
      {"benchmarks", ex.specs.size()},
      {"skipped", ex.skipped.size()},
      {"mmap_dir", mmap_file_directory()},
      {"inject_ns", a.inject_ns},
      {"inject_filter", a.inject_filter},
      {"perf", a.perf ? "on" : "off"},
  };
}

std::vector<Placement> placements_of(const std::vector<BenchSpec>& specs) {
  std::vector<Placement> placements;
  for (const auto& sp : specs) {
    bool known = std::any_of(placements.begin(), placements.end(),
                             [&](const Placement& p) { return p.name == sp.placement.name; });
    if (!known) placements.push_back(sp.placement);
  }
  return placements;
}

void print_header(const Suite& suite, const Expansion& ex, const nlohmann::json& config,
                  const std::vector<Placement>& placements, const std::string& out, size_t runs,
                  bool verbose) {
  std::string where;
  for (const auto& p : placements) {
    where += (where.empty() ? "" : "; ") + p.name + " (measured side CPU " +
             std::to_string(p.cpu_self) + ", peers CPU " + std::to_string(p.cpu_peer) + ")";
  }
  std::printf("ipcbench %s: suite %s, %zu runs (%zu benchmarks), %zu skipped, verify %s\n",
              kVersion, suite.name.c_str(), runs, ex.specs.size(), ex.skipped.size(),
              verify_name(suite.verify));
  std::printf("placement %s; output %s\n", where.c_str(), out.c_str());
  if (verbose) {
    std::printf("effective configuration: %s\n", config.dump().c_str());
    std::printf(
        "note: Debian's libbenchmark is built without NDEBUG, hence its DEBUG warning below; "
        "ipcbench times its own loops (manual time), so it does not affect the results\n");
  }
  for (const auto& sk : ex.skipped)
    std::printf("%s\n", wrap("skipped " + sk.name + ": ", sk.reason).c_str());
  for (const auto& line : limits::advice_lines(ex.skipped))
    std::printf("%s\n", wrap("limit: ", line).c_str());
  std::fflush(stdout);
}

// bench.json, then bench.csv and summary.md derived from it, and histograms.json beside it,
// each written atomically.
Status write_results(const std::string& dir, const nlohmann::json& bench, const RunTally& tally) {
  IPCB_TRY_STATUS(write_text(dir + "/bench.json", bench.dump(2) + "\n"));
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& [key, h] : tally.histograms) entries.push_back(h);
  IPCB_TRY_STATUS(write_text(dir + "/histograms.json", format_histograms(entries).dump() + "\n"));
  IPCB_TRY_STATUS(write_text(dir + "/bench.csv", format_csv(bench)));
  return write_text(dir + "/summary.md", format_summary(bench));
}

// After the run: "N <what>:" and the first ten of `lines`, the rest counted, with where the
// whole list is (`where`).
void print_list(const std::vector<std::string>& lines, const char* what, const char* where) {
  if (lines.empty()) return;
  std::printf("\n%zu %s:\n", lines.size(), what);
  constexpr size_t kShown = 10;
  for (size_t i = 0; i < lines.size() && i < kShown; ++i) std::printf("  %s\n", lines[i].c_str());
  if (lines.size() > kShown) std::printf("  ... and %zu more (%s)\n", lines.size() - kShown, where);
}

}  // namespace

int cmd_run(const RunArgs& a) {
  auto probe_options = a.probe.options();
  if (!probe_options) return usage_error(probe_options.error().message());
  auto flags = sort_gbench_flags(a.gbench);
  if (!flags) return usage_error(flags.error().message());
  if (!a.floors.empty() && a.floors != "start" && a.floors != "each" && a.floors != "off") {
    return usage_error("--floors: expected start, each or off, not '" + a.floors + "'");
  }
  if (auto scale = test_floor_scale(); !scale) return usage_error(scale.error().message());
  auto suite = load_suite(a.suite);
  if (!suite) return usage_error(suite.error().message());
  if (auto st = apply_overrides(*suite, a.o); !st) return usage_error(st.error().message());
  if (!std::isfinite(suite->min_time_s) || suite->min_time_s <= 0 || suite->min_time_s > 3600) {
    return usage_error("--min-time: expected seconds, more than 0 and at most 3600");
  }
  const int repetitions = flags->repetitions.value_or(suite->repetitions);
  if (repetitions < 1 || repetitions > 1000) {
    return usage_error("--repetitions: expected a number from 1 to 1000");
  }
  auto cpus = choose_cpus(a.pin);
  if (!cpus) return usage_error(cpus.error().message());
  auto topology = plan_topology(a.topology_root, *suite, *cpus);
  if (!topology) return usage_error(topology.error().message());
  auto expansion = expand(*suite, *cpus);
  if (!expansion) return usage_error(expansion.error().message());
  if (auto st = apply_inject(a, expansion->specs); !st) return usage_error(st.error().message());
  if (auto st = check_rate_flag(a.o, *expansion); !st) return usage_error(st.error().message());
  if (expansion->specs.empty() && expansion->skipped.empty()) {
    return usage_error("the suite and options select no benchmark");
  }
  // --benchmark_filter selects by the names ipcbench shows (Google Benchmark's own carry
  // "/manual_time" and, for some, "/iterations:N", so a filter ending in '$' would match none
  // there): ipcbench applies it and Google Benchmark runs what is registered.
  std::string filter;
  std::erase_if(flags->pass, [&](const std::string& g) {
    if (g.rfind("--benchmark_filter=", 0) != 0) return false;
    filter = g.substr(19);
    return true;
  });
  if (std::string why = filter_error(filter); !why.empty()) {
    return usage_error("--benchmark_filter '" + filter + "': " + why);
  }
  // A rate sweep's runs are known once its capacity probe ran.
  size_t sweeps = 0;
  size_t runs = count_runs(expansion->specs, repetitions, filter, &sweeps);
  if (runs == 0 && sweeps == 0 && !expansion->specs.empty()) {
    return usage_error("--benchmark_filter '" + filter + "' matches none of the " +
                       std::to_string(expansion->specs.size()) + " benchmarks of this run");
  }
  if (a.dry_run) {
    for (const auto& sp : expansion->specs) {
      size_t sweep = 0;
      if (count_runs({sp}, 1, filter, &sweep) + sweep == 0) continue;
      std::printf("%s%s\n", sp.name().c_str(),
                  sp.sweep ? " (rates from a capacity probe when the run starts)" : "");
    }
    size_t skipped = 0;  // those the filter would have run
    for (const auto& sk : expansion->skipped) {
      if (count_matching({sk.name}, filter) == 0) continue;
      std::printf("%s\n", wrap("(skipped) " + sk.name + ": ", sk.reason).c_str());
      ++skipped;
    }
    std::printf("%zu runs (%d repetitions each)%s, %zu skipped\n", runs, repetitions,
                sweeps != 0 ? (" and " + std::to_string(sweeps) + " rate sweep(s)").c_str() : "",
                skipped);
    return 0;
  }
  // What the filter leaves out is neither preflighted nor registered (sweeps: once expanded),
  // nor listed as skipped.
  std::erase_if(expansion->specs,
                [&](const BenchSpec& sp) { return !sp.sweep && !filter_selects(sp, filter); });
  std::erase_if(expansion->skipped,
                [&](const auto& sk) { return count_matching({sk.name}, filter) == 0; });
  if (auto st = prepare_out_dir(a.out); !st) return usage_error(st.error().message());
  auto lock = lock_out_dir(a.out);
  if (!lock) return usage_error(lock.error().message());
  manifest::install_signal_handlers();
  // Backends skipped sizes by the configured limits; the probes catch what cannot really be had.
  limits::Limits run_limits = limits::collect(*probe_options);
  skip_probed(run_limits, *expansion);
  // The preflight: a transport that fails the conformance tests its numbers rely on is not
  // benchmarked (each of its benchmarks fails, naming the test).
  Preflight preflight;
  std::vector<std::string> refused;
  if (!a.no_preflight) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& sp : expansion->specs) {
      if (std::find(pairs.begin(), pairs.end(), std::make_pair(sp.backend, sp.sync)) ==
          pairs.end()) {
        pairs.emplace_back(sp.backend, sp.sync);
      }
    }
    auto pf = run_preflight(pairs);
    if (!pf) return usage_error(pf.error().message());
    preflight = std::move(*pf);
    size_t failed = 0;
    for (const auto& v : preflight.verdicts) failed += v.verdict == "FAIL" || v.verdict == "BROKEN";
    std::vector<BenchSpec> keep;
    for (auto& sp : expansion->specs) {
      std::string why = preflight.refusal(sp.backend, sp.sync);
      if (why.empty()) {
        keep.push_back(std::move(sp));
      } else {
        refused.push_back(sp.name() + ": " + why);
      }
    }
    expansion->specs = std::move(keep);
    std::printf("preflight: %zu conformance tests of %zu transports in %.2f s: %s\n",
                preflight.verdicts.size(), pairs.size(), preflight.seconds,
                failed == 0 ? "all passed or skipped"
                            : (std::to_string(failed) + " FAILED, their transports are not "
                                                        "benchmarked")
                                  .c_str());
  }
  const auto& specs = expansion->specs;

  std::vector<Placement> placements = placements_of(specs);
  nlohmann::json env = capture_environment(placements);  // before any thread is pinned
  // Rate sweeps: a capacity probe per sweep decides its rates (pinned like the benchmarks).
  drop_unselected_sweeps(expansion->specs, filter);
  std::vector<SweepProbe> probes = expand_rate_sweeps(expansion->specs, suite->min_time_s);
  for (const auto& p : probes) {
    if (!p.error.empty()) refused.push_back(p.name + ": " + p.error);
    std::printf(
        "%s\n",
        wrap("rate sweep " + p.name + ": ", p.error.empty() ? sweep_line(p) : p.error).c_str());
  }
  std::erase_if(expansion->specs,
                [&](const BenchSpec& sp) { return sp.sweep || !filter_selects(sp, filter); });
  runs = count_runs(specs, repetitions, filter);
  env["topology"] = topology_context(*topology, *cpus);
  nlohmann::json config = describe_config(*suite, *cpus, *expansion, repetitions, a);
  add_comparability(env, config);
  print_header(*suite, *expansion, config, placements, a.out, runs, a.verbose);
  const PerfSupport perf = set_up_perf(a.perf, expansion->specs);
  const std::string floors_mode = a.no_floors ? "off" : a.floors.empty() ? suite->floors : a.floors;
  std::vector<Floors> floors;
  if (floors_mode != "off") floors = floors_for(specs, kFloorsBudgetS);
  for (const auto& f : floors) std::printf("%s\n", floors_summary(f).c_str());
  std::fflush(stdout);

  const std::vector<Floors> start_floors = floors;  // `floors` may be measured again in the run
  RunTally tally;
  tally.failures = refused;
  register_benchmarks(specs, repetitions, floors, floors_mode == "each" ? kFloorsEachBudgetS : 0,
                      tally, a.iterations,
                      flags->min_time_s > 0 ? flags->min_time_s : suite->min_time_s);
  std::vector<std::string> gb = flags->pass;
  auto user_gave = [&](const std::string& flag) {
    return std::any_of(gb.begin(), gb.end(), [&](const auto& g) { return g.rfind(flag, 0) == 0; });
  };
  if (!user_gave("--benchmark_min_time")) {
    gb.insert(gb.begin(), "--benchmark_min_time=" + std::to_string(suite->min_time_s));
  }
  std::string started = utc_now();
  BenchRun ran;
  if (specs.empty()) {
    // Every benchmark was skipped for a limit of this machine: a result that says so.
    ran.json = {{"context", nlohmann::json::object()}, {"benchmarks", nlohmann::json::array()}};
  } else {
    auto r = run_registered_benchmarks(gb, ConsoleOptions{runs, a.verbose});
    if (!r) return usage_error(r.error().message());
    if (r->listed_only) return 0;
    ran = std::move(*r);
  }
  nlohmann::json& bench = ran.json;
  set_measured_iterations(bench, tally);
  add_repetition_aggregates(bench, repetitions, flags->aggregates_only);
  nlohmann::json extra = env;
  extra["ipcbench_config"] = config;
  extra["ipcbench_skipped"] = nlohmann::json::array();
  for (const auto& sk : expansion->skipped) {
    extra["ipcbench_skipped"].push_back({{"name", sk.name}, {"reason", sk.reason}});
  }
  extra["verify"] = verify_name(suite->verify);
  extra["date"] = started;
  const std::string commit = runner::build_commit();
  extra["ipcbench_commit"] = commit.empty() ? nlohmann::json() : nlohmann::json(commit);
  extra["ipcbench_failures"] = tally.failures;
  extra["limits"] = limits::to_json(run_limits);
  extra["perf"] = perf.to_json();
  if (!a.no_preflight) extra["preflight"] = preflight.to_json();
  extra["floors"] = nlohmann::json::array();
  for (const auto& f : start_floors) extra["floors"].push_back(floors_to_json(f));
  extra["floors_rechecked"] = tally.floors_rechecked;
  std::vector<std::string> below;
  for (const auto& [key, line] : tally.below_floor) below.push_back(line);
  extra["ipcbench_below_floor"] = below;
  std::vector<std::string> unsettled;
  for (const auto& [key, line] : tally.floor_unsettled) unsettled.push_back(line);
  extra["floors_unsettled"] = unsettled;
  if (!probes.empty()) extra["rate_sweeps"] = sweeps_to_json(probes);
  add_context(bench, extra, tally.fields);
  if (auto st = write_results(a.out, bench, tally); !st) {
    std::fprintf(stderr, "ipcbench: %s\n", st.error().message().c_str());
    return kExitFailed;
  }
  std::printf("\nwrote %s/bench.json, bench.csv, summary.md, histograms.json\n", a.out.c_str());
  if (!tally.floors_rechecked.empty()) {
    std::printf(
        "floors: measured again after %zu result(s) that were below the run's earlier floor "
        "(the VM got faster; context.floors_rechecked)\n",
        tally.floors_rechecked.size());
  }
  print_list(
      unsettled,
      "result(s) with an UNSETTLED ratio (marked ?): the floor moved by more than its own "
      "noise between right before and right after them, or the host ran them faster than "
      "both floors, or their pace was not steady, so their ratio says little; run them again",
      "context.floors_unsettled");
  print_list(below,
             "result(s) BELOW THEIR PHYSICAL FLOOR, measured again right after them: a measuring "
             "error, or the machine changed speed in between (a VM's vCPUs move)",
             "summary.md, context.ipcbench_below_floor");
  if (!tally.failures.empty()) {
    std::fprintf(stderr, "\nipcbench: %zu benchmark(s) FAILED:\n", tally.failures.size());
    for (const auto& f : tally.failures) std::fprintf(stderr, "  %s\n", f.c_str());
    return kExitFailed;
  }
  return 0;
}

}  // namespace ipcb
