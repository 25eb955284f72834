// Floors on the command line and at the start of a run (see cli_floors.h).
#include "harness/cli/cli_floors.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "harness/plan/suite.h"

namespace ipcb {

std::vector<Floors> floors_for(const std::vector<BenchSpec>& specs, double budget_s) {
  std::vector<Placement> placements;
  std::vector<std::set<size_t>> sizes;
  for (const auto& sp : specs) {
    if (sp.workload != "pingpong" && sp.workload != "stream") continue;
    auto it = std::find_if(placements.begin(), placements.end(),
                           [&](const Placement& p) { return p.name == sp.placement.name; });
    size_t i = static_cast<size_t>(it - placements.begin());
    if (it == placements.end()) {
      placements.push_back(sp.placement);
      sizes.emplace_back();
    }
    sizes[i].insert(sp.payload_bytes);
  }
  std::vector<Floors> out;
  for (size_t i = 0; i < placements.size(); ++i) {
    out.push_back(measure_floors(placements[i], {sizes[i].begin(), sizes[i].end()},
                                 budget_s / static_cast<double>(placements.size())));
  }
  return out;
}

std::string floors_summary(const Floors& f) {
  char line[512];
  if (!f.error.empty()) {
    std::snprintf(line, sizeof line, "floors %s: not measured: %s", f.placement.c_str(),
                  f.error.c_str());
    return line;
  }
  std::snprintf(line, sizeof line,
                "floors %s (CPU %d/%d, %.1f s): cache line one-way %.0f ns (shared line %.0f),\n"
                "  futex hand-off %.0f ns, pipe hand-off %.0f ns, clock read %.0f ns",
                f.placement.c_str(), f.cpu_a, f.cpu_b, f.seconds, f.line2_ns, f.line1_ns,
                f.futex_ns, f.pipe_ns, f.clock_ns);
  std::string out = line;
  if (f.test_scale != 1) {
    std::snprintf(line, sizeof line,
                  "\n  (NOT this machine's: scaled x%g by IPCBENCH_TEST_FLOOR_SCALE)",
                  f.test_scale);
    out += line;
  }
  return out;
}

int cmd_floors(const FloorsArgs& a) {
  if (auto scale = test_floor_scale(); !scale) return usage_error(scale.error().message());
  std::vector<size_t> sizes;
  for (const auto& z : a.sizes) {
    auto n = parse_size(z);
    if (!n) return usage_error(n.error().message());
    sizes.push_back(*n);
  }
  if (!(a.budget_s > 0 && a.budget_s <= 600)) {
    return usage_error("--budget: expected seconds, more than 0 and at most 600");
  }
  auto cpus = choose_cpus(a.pin);
  if (!cpus) return usage_error(cpus.error().message());
  std::vector<std::string> names = a.placements;
  if (names.empty()) names = {cpus->second >= 0 ? "cross" : "same"};
  nlohmann::json all = nlohmann::json::array();
  for (const auto& name : names) {
    auto p = make_placement(name, *cpus);
    if (!p) return usage_error(p.error().message());
    Floors f = measure_floors(*p, sizes, a.budget_s / static_cast<double>(names.size()));
    all.push_back(floors_to_json(f));
    if (a.json) continue;
    std::printf("%s\n", floors_summary(f).c_str());
    std::printf("  %10s %14s %16s %16s %16s %16s %16s\n", "size", "copy GB/s", "pingpong copy",
                "pingpong inplace", "slot protocol", "stream copy", "stream inplace");
    for (const auto& s : f.sizes) {
      std::printf("  %10s %14.2f %13.0f ns %13.0f ns %13.0f ns %11.2f GB/s %11.2f GB/s\n",
                  size_label(s.bytes).c_str(), s.memcpy_bytes_per_second / 1e9, s.pingpong_copy_ns,
                  s.pingpong_inplace_ns, s.pingpong_slot_ns, s.stream_copy_bytes_per_second / 1e9,
                  s.stream_inplace_bytes_per_second / 1e9);
    }
  }
  if (a.json) std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

}  // namespace ipcb
