// `ipcbench run`'s rate and sweep helpers (see cli_rate.h).
#include "harness/cli/cli_rate.h"

#include <cstdio>

#include "harness/run/rate.h"
#include "suites/bench/run.h"

namespace ipcb {
namespace {

// Every rate a sweep can expand to: the whole 1-2-5 ladder (see sweep_rates).
std::vector<uint64_t> ladder() {
  std::vector<uint64_t> out;
  for (uint64_t decade = 1; decade <= 1'000'000'000; decade *= 10) {
    for (uint64_t step : {1, 2, 5}) {
      if (step * decade <= kMaxRate) out.push_back(step * decade);
    }
  }
  return out;
}

bool sweep_selected(const BenchSpec& sweep, const std::string& filter) {
  if (count_matching({sweep.name()}, filter) != 0) return true;  // ".../sweep" itself
  for (uint64_t r : ladder()) {
    BenchSpec one = sweep;
    one.sweep = false;
    one.rate = r;
    if (count_matching({one.name()}, filter) != 0) return true;
  }
  return false;
}

}  // namespace

bool filter_selects(const BenchSpec& spec, const std::string& filter) {
  if (spec.sweep) return sweep_selected(spec, filter);
  if (count_matching({spec.name()}, filter) != 0) return true;
  if (spec.probed_capacity <= 0) return false;
  BenchSpec sweep = spec;  // a rate a sweep chose: selected with its sweep
  sweep.sweep = true;
  return count_matching({sweep.name()}, filter) != 0;
}

size_t count_runs(const std::vector<BenchSpec>& specs, int repetitions, const std::string& filter,
                  size_t* sweeps_selected) {
  size_t runs = 0, sweeps = 0;
  for (const auto& sp : specs) {
    if (sp.sweep) {
      sweeps += sweep_selected(sp, filter);
    } else if (filter_selects(sp, filter)) {
      runs += static_cast<size_t>(repetitions);
    }
  }
  if (sweeps_selected != nullptr) *sweeps_selected = sweeps;
  return runs;
}

void drop_unselected_sweeps(std::vector<BenchSpec>& specs, const std::string& filter) {
  std::vector<BenchSpec> keep;
  for (auto& sp : specs) {
    if (!sp.sweep || sweep_selected(sp, filter)) {
      keep.push_back(std::move(sp));
    }
  }
  specs = std::move(keep);
}

Status check_rate_flag(const SuiteOverrides& o, const Expansion& ex) {
  if (o.rates.empty()) return ok_status();
  for (const auto& sp : ex.specs) {
    if (sp.workload == "rate") return ok_status();
  }
  for (const auto& sk : ex.skipped) {
    if (sk.name.rfind("rate/", 0) == 0) return ok_status();
  }
  return plain_error("--rate",
                     "applies to the rate workload, which this run does not include "
                     "(add --workload rate)");
}

std::string sweep_line(const SweepProbe& p) {
  char cap[32], head[160];
  if (p.capacity >= 1e6) {
    std::snprintf(cap, sizeof cap, "%.2fM", p.capacity / 1e6);
  } else if (p.capacity >= 1e3) {
    std::snprintf(cap, sizeof cap, "%.1fk", p.capacity / 1e3);
  } else {
    std::snprintf(cap, sizeof cap, "%.0f", p.capacity);
  }
  std::snprintf(head, sizeof head,
                "capacity %s messages/s (closed-loop stream, probed in %.2f s): %zu rates, ", cap,
                p.seconds, p.rates.size());
  std::string rates;
  for (uint64_t r : p.rates) rates += (rates.empty() ? "" : ", ") + rate_label(r);
  return head + rates;
}

nlohmann::json sweeps_to_json(const std::vector<SweepProbe>& probes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : probes) {
    nlohmann::json j = {{"name", p.name},
                        {"capacity_messages_per_second", p.capacity},
                        {"probe_seconds", p.seconds},
                        {"rates", p.rates}};
    if (!p.error.empty()) j["error"] = p.error;
    out.push_back(j);
  }
  return out;
}

}  // namespace ipcb
