// Command-line flags over a suite: narrowing its matrix, or an exact product (see suite.h).
#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "backends/backend.h"
#include "harness/plan/suite.h"
#include "harness/plan/suite_detail.h"
#include "harness/run/workload.h"
#include "harness/sys/manifest.h"

namespace ipcb {

using namespace suite_detail;

namespace {

template <typename T>
void add_missing(std::vector<T>& to, const std::vector<T>& from) {
  for (const auto& v : from) {
    if (std::find(to.begin(), to.end(), v) == to.end()) to.push_back(v);
  }
}

// Narrows a slice's values to those asked for: "all" (or unset) takes what was asked, a list
// keeps what it shares with it. False when nothing is left.
bool narrow(std::vector<std::string>& field, const std::vector<std::string>& asked) {
  if (asked.empty() || is_all(asked)) return true;
  if (field.empty() || is_all(field)) {
    field = asked;
    return true;
  }
  std::vector<std::string> kept;
  for (const auto& a : asked) {
    if (contains(field, a)) kept.push_back(a);
  }
  field = kept;
  return !kept.empty();
}

// The suite's matrices as one: its top-level keys, else the union of its matrices.
Matrix collapse(const Suite& s) {
  Matrix m = s.top;
  auto fill = [&](auto field) {
    if (!(m.*field).empty()) return;
    for (const Matrix& each : s.matrices) add_missing(m.*field, each.*field);
  };
  fill(&Matrix::workloads);
  fill(&Matrix::backends);
  fill(&Matrix::syncs);
  fill(&Matrix::sizes);
  fill(&Matrix::modes);
  fill(&Matrix::placements);
  return m;
}

// One slice per workload of exactly what the flags name (see SuiteOverrides::exact).
std::vector<Matrix> exact_matrices(const Suite& s, const SuiteOverrides& o,
                                   const std::vector<size_t>& sizes) {
  std::vector<std::string> workloads = o.workloads;
  if (workloads.empty()) {
    for (const Matrix& m : s.matrices) {
      for (const auto& w : is_all(m.workloads) ? all_workloads() : m.workloads) {
        if (!contains(workloads, w)) workloads.push_back(w);
      }
    }
  }
  std::vector<Matrix> out;
  for (const auto& w : workloads) {
    Matrix m;
    m.workloads = {w};
    m.backends = o.backends.empty() ? std::vector<std::string>{"all"} : o.backends;
    m.syncs = o.syncs.empty() ? std::vector<std::string>{"all"} : o.syncs;
    m.modes = o.modes.empty() ? std::vector<std::string>{"copy"} : o.modes;
    m.placements = o.placements;
    m.sizes = sizes;
    if (m.sizes.empty()) {  // the suite's sizes for this workload: its first slice that has it
      for (const Matrix& each : s.matrices) {
        if (is_all(each.workloads) || contains(each.workloads, w)) {
          m.sizes = each.sizes;
          break;
        }
      }
    }
    if (m.sizes.empty()) m.sizes = collapse(s).sizes;
    out.push_back(std::move(m));
  }
  return out;
}

Status apply_settings(Suite& s, const SuiteOverrides& o);

}  // namespace

Status apply_overrides(Suite& s, const SuiteOverrides& o) {
  IPCB_TRY_STATUS(check_names(o.workloads, all_workloads(), "workload"));
  IPCB_TRY_STATUS(check_names(o.backends, all_backends(), "backend"));
  IPCB_TRY_STATUS(check_names(o.syncs, all_syncs(), "sync"));
  IPCB_TRY_STATUS(check_names(o.modes, kModes, "mode"));
  IPCB_TRY_STATUS(check_names(o.placements, placement_names(), "placement"));
  IPCB_TRY(auto sizes, parse_sizes(o.sizes));
  if (!o.workloads.empty() || !o.backends.empty() || !o.syncs.empty() || !sizes.empty() ||
      !o.modes.empty() || !o.placements.empty()) {
    s.asked = Matrix{o.workloads, o.backends, o.syncs, sizes, o.modes, o.placements};
    if (o.exact) {
      s.matrices = exact_matrices(s, o, sizes);
      return apply_settings(s, o);
    }
    // Narrow each slice of the suite to what was asked (sizes replace the suite's); if no slice
    // keeps anything, the flags apply to the whole suite as one slice instead.
    std::vector<Matrix> narrowed;
    for (Matrix m : s.matrices) {
      if (narrow(m.workloads, o.workloads) && narrow(m.backends, o.backends) &&
          narrow(m.syncs, o.syncs) && narrow(m.modes, o.modes) &&
          narrow(m.placements, o.placements)) {
        if (!sizes.empty()) m.sizes = sizes;
        narrowed.push_back(std::move(m));
      }
    }
    if (narrowed.empty()) {
      Matrix m = collapse(s);
      if (!o.workloads.empty()) m.workloads = o.workloads;
      if (!o.backends.empty()) m.backends = o.backends;
      if (!o.syncs.empty()) m.syncs = o.syncs;
      if (!sizes.empty()) m.sizes = sizes;
      if (!o.modes.empty()) m.modes = o.modes;
      if (!o.placements.empty()) m.placements = o.placements;
      narrowed.push_back(std::move(m));
    }
    s.matrices = std::move(narrowed);
  }
  return apply_settings(s, o);
}

namespace {

Status apply_settings(Suite& s, const SuiteOverrides& o) {
  if (o.verify) {
    IPCB_TRY(s.verify, parse_verify(*o.verify));
  }
  if (o.repetitions) {
    if (*o.repetitions < 1) return plain_error("--repetitions", "must be at least 1");
    s.repetitions = *o.repetitions;
  }
  if (o.min_time_s) {
    if (*o.min_time_s <= 0) return plain_error("--min-time", "must be > 0");
    s.min_time_s = *o.min_time_s;
  }
  if (o.stall_ms) s.stall_ms = *o.stall_ms;
  if (!o.fans.empty()) {
    for (int f : o.fans) {
      if (f < 1 || f > manifest::kMaxPeers) {
        return plain_error("--fan", "must be between 1 and " + std::to_string(manifest::kMaxPeers));
      }
    }
    s.fans.clear();
    for (int f : o.fans) {
      if (std::find(s.fans.begin(), s.fans.end(), f) == s.fans.end()) s.fans.push_back(f);
    }
  }
  if (!o.rates.empty()) {
    auto parsed = parse_rates(o.rates);
    if (!parsed) return plain_error("--rate", parsed.error().message());
    s.rates = parsed->first;
    s.rate_sweep = parsed->second;
  }
  if (o.sleep_us) s.sleep_us = *o.sleep_us;
  if (o.spin_us) s.spin_us = *o.spin_us;
  return ok_status();
}

}  // namespace

}  // namespace ipcb
