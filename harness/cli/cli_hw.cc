// Perf counters and topology placements for `run`, and `ipcbench topology` (see cli_hw.h).
#include "harness/cli/cli_hw.h"

#include <algorithm>
#include <cstdio>

#include "harness/cli/cli_common.h"

namespace ipcb {
namespace {

// The placement names the suite's matrices use ("all": cross, same, free).
std::vector<std::string> asked_placements(const Suite& suite) {
  std::vector<std::string> out;
  for (const auto& m : suite.matrices) {
    std::vector<std::string> names = m.placements;
    if (names.size() == 1 && names[0] == "all") names = {"cross", "same", "free"};
    if (names.empty()) names = {"cross"};  // the default (same with one CPU): always there
    for (const auto& n : names) {
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
  }
  return out;
}

std::vector<PlacementOption> all_unavailable(const std::string& why) {
  std::vector<PlacementOption> out;
  for (const auto& [name, what] : topology_placements()) out.push_back({name, {}, why});
  return out;
}

}  // namespace

Result<Topology> plan_topology(const std::string& root, const Suite& suite, CpuChoice& cpus) {
  auto t = read_topology(root);
  if (!t) {
    if (root != "/") return t.error();
    cpus.topology = all_unavailable("the CPU topology could not be read: " + t.error().message());
    Topology empty;
    empty.root = root;
    t = empty;
  } else {
    cpus.topology = plan_placements(*t, cpus.first);
  }
  std::vector<std::string> asked = asked_placements(suite), unavailable;
  for (const auto& name : asked) {
    const PlacementOption* o = cpus.option(name);
    if (o == nullptr || !o->placements.empty()) continue;
    unavailable.push_back("placement " + name + " is unavailable: " + o->why);
  }
  if (!unavailable.empty() && unavailable.size() == asked.size()) {
    std::string all;
    for (const auto& u : unavailable) all.append(all.empty() ? "" : "; ").append(u);
    return plain_error("--placement", "nothing to run on this machine: " + all);
  }
  for (const auto& u : unavailable) std::printf("%s\n", wrap("", u + " (not run)").c_str());
  return t;
}

nlohmann::json topology_context(const Topology& t, const CpuChoice& cpus) {
  nlohmann::json j = t.cpus.empty() ? nlohmann::json{{"root", t.root}} : t.to_json();
  j["placements"] = placements_to_json(cpus.topology);
  return j;
}

PerfSupport set_up_perf(bool enabled, std::vector<BenchSpec>& specs) {
  PerfSupport s = probe_perf_support(enabled);
  for (auto& sp : specs) sp.perf = enabled;
  for (const auto& line : s.lines()) std::printf("%s\n", wrap("", line).c_str());
  return s;
}

int cmd_topology(const TopologyArgs& a) {
  auto t = read_topology(a.root);
  if (!t) return usage_error(t.error().message());
  auto usable = t->usable();
  auto plan = plan_placements(*t, usable.empty() ? -1 : usable.front());
  if (a.json) {
    nlohmann::json j = t->to_json();
    j["placements"] = placements_to_json(plan);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s\n", t->summary().c_str());
  std::printf("online %s, allowed %s, SMT active %s (control %s)\n",
              cpu_list_text(t->online).c_str(), cpu_list_text(t->allowed).c_str(),
              t->smt_active.empty() ? "?" : t->smt_active.c_str(),
              t->smt_control.empty() ? "?" : t->smt_control.c_str());
  std::printf("\n  %4s %7s %8s %4s %5s %-10s %-12s %4s\n", "cpu", "online", "package", "die",
              "core", "siblings", "LLC", "node");
  for (const auto& c : t->cpus) {
    auto num = [](int v) { return v < 0 ? std::string("-") : std::to_string(v); };
    std::string llc = c.llc < 0 ? "-"
                                : "L" + std::to_string(t->llcs[static_cast<size_t>(c.llc)].level) +
                                      " " + cpu_list_text(t->llcs[static_cast<size_t>(c.llc)].cpus);
    std::printf("  %4d %7s %8s %4s %5s %-10s %-12s %4s\n", c.cpu, c.online ? "yes" : "no",
                num(c.package).c_str(), num(c.die).c_str(), num(c.core).c_str(),
                c.siblings.empty() ? "-" : cpu_list_text(c.siblings).c_str(), llc.c_str(),
                num(c.node).c_str());
  }
  std::printf("\nPlacements (measured side CPU, peer CPU):\n");
  for (const auto& o : plan) {
    std::string where;
    if (o.placements.empty()) {
      where = "unavailable: " + o.why;
    } else if (o.name == "all-pairs") {
      where = std::to_string(o.placements.size()) + (o.placements.size() == 1 ? " pair" : " pairs");
      for (size_t i = 0; i < o.placements.size() && i < 6; ++i) where += " " + o.placements[i].name;
      if (o.placements.size() > 6) where += " ...";
    } else {
      where = "CPU " + std::to_string(o.placements[0].cpu_self) + ", CPU " +
              std::to_string(o.placements[0].cpu_peer);
    }
    std::printf("%s\n", wrap("  " + o.name + std::string(12 - o.name.size(), ' '), where).c_str());
  }
  return 0;
}

}  // namespace ipcb
