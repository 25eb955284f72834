// A suite expanded into benchmarks: placements, variants (fan, rate) and the limits that skip
// some (see suite.h).
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

namespace ipcb {

using namespace suite_detail;

Result<Placement> make_placement(const std::string& name, const CpuChoice& cpus) {
  if (name == "free") return Placement{"free", -1, -1};
  if (name == "same") return Placement{"same", cpus.first, cpus.first};
  if (name == "cross") {
    if (cpus.second < 0) {
      return plain_error("placement cross", "needs two CPUs; this process may use only one");
    }
    return Placement{"cross", cpus.first, cpus.second};
  }
  if (const PlacementOption* o = cpus.option(name)) {
    if (o->placements.empty()) return plain_error("placement " + name, "unavailable: " + o->why);
    return o->placements.front();
  }
  return plain_error("placement '" + name + "'", "expected cross, same or free");
}

const PlacementOption* CpuChoice::option(const std::string& name) const {
  for (const auto& o : topology) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

namespace {

// The placements a name stands for: one, every pair for all-pairs, none for a topology
// placement this machine does not allow (the run says why before expanding).
Result<std::vector<Placement>> placements_named(const std::string& name, const CpuChoice& cpus) {
  if (is_topology_placement(name)) {
    const PlacementOption* o = cpus.option(name);
    return o == nullptr ? std::vector<Placement>() : o->placements;
  }
  IPCB_TRY(Placement p, make_placement(name, cpus));
  return std::vector<Placement>{p};
}

}  // namespace

namespace {

// The syncs of `b` this matrix asks for.
std::vector<std::string> syncs_for(const BackendInfo& b, const Matrix& m) {
  std::vector<std::string> out;
  for (const auto& sy : b.syncs()) {
    if (is_all(m.syncs) || contains(m.syncs, sy)) out.push_back(sy);
  }
  return out;
}

// What a run used, to tell the user when something they asked for fits nothing.
struct Used {
  std::vector<std::string> backends, syncs, modes;
};

// What the expansion has seen so far: names (each benchmark appears once) and the limit of each
// (backend, size, channels), read from the kernel once (a matrix may have thousands of sizes).
struct Seen {
  std::unordered_set<std::string> names;
  std::map<std::tuple<std::string, size_t, size_t, bool>, std::string> limits;
  const std::string& size_limit(const BackendInfo& b, size_t payload, size_t channels, bool deep) {
    auto key = std::make_tuple(std::string(b.name), payload, channels, deep);
    auto it = limits.find(key);
    if (it == limits.end()) {
      it = limits.emplace(key, b.size_limit(sizeof(FrameHeader) + payload, channels, deep)).first;
    }
    return it->second;
  }
};

// What else tells a workload's benchmarks apart: fanin and fanout run at every fan of the suite,
// rate at every offered rate (and once as a sweep, expanded before the run).
struct Variant {
  int fan = 1;
  uint64_t rate = 0;
  bool sweep = false;
};

std::vector<Variant> variants_of(const Suite& s, const WorkloadInfo& w) {
  std::vector<Variant> out;
  if (w.fans_out) {
    for (int f : s.fans) out.push_back({f, 0, false});
  } else if (std::string(w.name) == "rate") {
    for (uint64_t r : s.rates) out.push_back({1, r, false});
    if (s.rate_sweep) out.push_back({1, 0, true});
  } else {
    out.push_back({});
  }
  return out;
}

// Every placement with every variant, placement outermost (the order benchmarks run in).
std::vector<std::pair<std::string, Variant>> placed_variants(const std::vector<std::string>& ps,
                                                             const std::vector<Variant>& vs) {
  std::vector<std::pair<std::string, Variant>> out;
  for (const auto& p : ps) {
    for (const auto& v : vs) out.emplace_back(p, v);
  }
  return out;
}

Status expand_matrix(const Suite& s, const Matrix& m, const CpuChoice& cpus, bool name_placement,
                     Expansion& out, Seen& seen, Used& used) {
  auto ws = is_all(m.workloads) ? all_workloads() : m.workloads;
  auto bs = is_all(m.backends) ? all_backends() : m.backends;
  std::vector<std::string> placements = is_all(m.placements) ? kPlacements : m.placements;
  if (placements.empty()) placements = {cpus.second >= 0 ? "cross" : "same"};
  auto modes = is_all(m.modes) ? kModes : m.modes;
  for (const auto& bname : bs) {
    const BackendInfo* b = find_backend(bname);
    auto syncs = syncs_for(*b, m);  // none: this slice does not apply to this backend
    if (!syncs.empty()) used.backends.push_back(bname);
    used.syncs.insert(used.syncs.end(), syncs.begin(), syncs.end());
    for (const auto& mode : modes) {
      if (mode == "inplace" && std::string(b->kind) != "shm") continue;
      if (!syncs.empty()) used.modes.push_back(mode);
      for (const auto& wname : ws) {
        const WorkloadInfo* w = find_workload(wname);
        for (const auto& sy : syncs) {
          for (size_t z : m.sizes) {
            for (const auto& [pname, v] : placed_variants(placements, variants_of(s, *w))) {
              IPCB_TRY(auto pls, placements_named(pname, cpus));
              for (const Placement& pl : pls) {
                BenchSpec spec;
                spec.workload = wname;
                spec.backend = bname;
                spec.sync = sy;
                spec.payload_bytes = z;
                spec.verify = s.verify;
                IPCB_TRY(spec.mode, parse_copy_mode(mode));
                spec.placement = pl;
                spec.fan = v.fan;
                spec.rate = v.rate;
                spec.sweep = v.sweep;
                if (v.rate != 0) spec.fixed_iterations = rate_messages(v.rate, s.min_time_s);
                spec.sleep_ns = s.sleep_us * 1000;
                spec.spin_ns = s.spin_us * 1000;
                spec.stall_ns = s.stall_ms * 1'000'000ULL;
                spec.name_placement = name_placement;
                std::string name = spec.name();
                if (!seen.names.insert(name).second) continue;
                const std::string& limit =
                    seen.size_limit(*b, z, static_cast<size_t>(spec.fan), w->deep);
                if (!limit.empty()) {
                  out.skipped.push_back({name, limit});
                } else {
                  out.specs.push_back(std::move(spec));
                }
              }
            }
          }
        }
      }
    }
  }
  return ok_status();
}

// Everything the user named on the command line must fit somewhere.
Status check_asked(const Suite& s, const Used& used) {
  for (const auto& b : s.asked.backends) {
    if (is_all(s.asked.backends) || contains(used.backends, b)) continue;
    const BackendInfo* info = find_backend(b);
    return plain_error("sync " + join(s.asked.syncs) + " does not fit backend '" + b + "'",
                       "valid for " + b + ": " + join(info->syncs()));
  }
  for (const auto& sy : s.asked.syncs) {
    if (is_all(s.asked.syncs) || contains(used.syncs, sy)) continue;
    return plain_error("sync '" + sy + "' fits none of the chosen backends",
                       "see `ipcbench list` for the valid combinations");
  }
  for (const auto& mode : s.asked.modes) {
    if (is_all(s.asked.modes) || contains(used.modes, mode)) continue;
    return plain_error("mode '" + mode + "' fits none of the chosen backends",
                       "inplace needs a shared-memory backend");
  }
  return ok_status();
}

}  // namespace

Result<Expansion> expand(const Suite& s, const CpuChoice& cpus) {
  std::vector<std::string> placements;
  size_t resolved = 0;  // all-pairs stands for several
  for (const Matrix& m : s.matrices) {
    for (const auto& p : is_all(m.placements) ? kPlacements : m.placements) {
      if (contains(placements, p)) continue;
      placements.push_back(p);
      auto named = placements_named(p, cpus);
      resolved += named ? named->size() : 1;
    }
  }
  Expansion out;
  Seen seen;
  Used used;
  for (const Matrix& m : s.matrices) {
    IPCB_TRY_STATUS(
        expand_matrix(s, m, cpus, placements.size() > 1 || resolved > 1, out, seen, used));
  }
  IPCB_TRY_STATUS(check_asked(s, used));
  return out;
}

}  // namespace ipcb
