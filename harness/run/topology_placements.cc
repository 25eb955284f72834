// Placements on the topology (see topology.h): which pair of CPUs each one uses here, or why
// this machine (or this process's allowed CPUs) does not have one.
#include <algorithm>

#include "harness/run/topology.h"

namespace ipcb {
namespace {

bool has(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Whether CPUs a and b (a != b) are placed as `name` says.
bool fits(const Topology& t, int a, int b, const std::string& name) {
  const CpuTopo* x = t.cpu(a);
  const CpuTopo* y = t.cpu(b);
  if (x == nullptr || y == nullptr || a == b) return false;
  const bool siblings = has(x->siblings, b) || has(y->siblings, a);
  const bool same_core = siblings || (x->core >= 0 && x->package >= 0 && x->core == y->core &&
                                      x->package == y->package && x->die == y->die);
  if (name == "smt") return siblings;
  if (name == "core") return x->llc >= 0 && x->llc == y->llc && !same_core && x->core >= 0;
  if (name == "llc") {
    return x->package >= 0 && x->package == y->package && x->llc >= 0 && y->llc >= 0 &&
           x->llc != y->llc;
  }
  if (name == "socket") return x->package >= 0 && y->package >= 0 && x->package != y->package;
  if (name == "numa") return x->node >= 0 && y->node >= 0 && x->node != y->node;
  return name == "all-pairs";
}

// The first pair of `cpus` that fits, trying `prefer` first as the measured side's CPU.
std::optional<std::pair<int, int>> first_pair(const Topology& t, std::vector<int> cpus,
                                              const std::string& name, int prefer) {
  std::stable_partition(cpus.begin(), cpus.end(), [&](int c) { return c == prefer; });
  for (int a : cpus) {
    for (int b : cpus) {
      if (fits(t, a, b, name)) return std::make_pair(a, b);
    }
  }
  return std::nullopt;
}

std::string pair_text(const std::pair<int, int>& p) {
  return "CPUs " + std::to_string(p.first) + " and " + std::to_string(p.second);
}

std::string llc_list(const Topology& t) {
  std::string s;
  for (const auto& d : t.llcs) {
    s.append(s.empty() ? "L" : ", L");
    s.append(std::to_string(d.level));
    s.push_back(' ');
    s.append(cpu_list_text(d.cpus));
  }
  return s;
}

// Why no two CPUs of the whole machine are placed as `name` says.
std::string machine_reason(const Topology& t, const std::string& name) {
  if (name == "smt") {
    if (t.smt_control == "off" || t.smt_control == "forceoff") {
      return "SMT is switched off (smt/control = " + t.smt_control + ")";
    }
    return "no core has two hardware threads online (smt/active = " +
           (t.smt_active.empty() ? "?" : t.smt_active) +
           ", smt/control = " + (t.smt_control.empty() ? "?" : t.smt_control) + ")";
  }
  if (name == "core") {
    if (t.llcs.empty()) {
      return "no cache information (cpuN/cache/index*/shared_cpu_list), so which cores share a "
             "last-level cache is unknown";
    }
    return "no last-level cache is shared by two cores (" + llc_list(t) + ")";
  }
  if (name == "llc") {
    if (t.llcs.empty()) return "no cache information (cpuN/cache/index*/shared_cpu_list)";
    return "each package has one last-level cache (" + llc_list(t) + ")";
  }
  if (name == "socket") {
    int p = -1;
    for (const auto& c : t.cpus) p = c.online && c.package >= 0 ? c.package : p;
    if (p < 0) return "no package information (topology/physical_package_id)";
    return "one package (physical_package_id " + std::to_string(p) + ") holds every online CPU";
  }
  if (name == "numa") {
    if (t.nodes.empty())
      return "no NUMA information (no node*/cpulist under sys/devices/system/node)";
    return "one NUMA node (node" + std::to_string(t.nodes.front()) + ") holds every online CPU";
  }
  return "needs two CPUs";
}

PlacementOption plan_one(const Topology& t, const std::string& name, int prefer) {
  PlacementOption o;
  o.name = name;
  const std::vector<int> usable = t.usable();
  if (name == "all-pairs") {
    for (size_t i = 0; i < usable.size(); ++i) {
      for (size_t j = i + 1; j < usable.size(); ++j) {
        const int a = usable[i], b = usable[j];
        o.placements.push_back({"cpu" + std::to_string(a) + "-cpu" + std::to_string(b), a, b});
      }
    }
    if (o.placements.empty()) {
      o.why = "needs two usable CPUs; this process may use only CPU " + cpu_list_text(usable);
    }
    return o;
  }
  if (auto p = first_pair(t, usable, name, prefer)) {
    o.placements.push_back({name, p->first, p->second});
    return o;
  }
  std::vector<int> all;
  for (const auto& c : t.cpus) all.push_back(c.cpu);
  if (usable.size() < 2) {
    o.why = "needs two CPUs; this process may use only CPU " + cpu_list_text(usable);
  } else if (auto p = first_pair(t, t.online, name, prefer)) {
    o.why = pair_text(*p) + " would be, but this process may use only CPUs " +
            cpu_list_text(t.allowed) + " (its affinity or cpuset)";
  } else if (auto q = first_pair(t, all, name, prefer)) {
    o.why = pair_text(*q) + " would be, but CPU " +
            std::to_string(has(t.online, q->first) ? q->second : q->first) + " is offline";
  } else {
    o.why = machine_reason(t, name);
  }
  return o;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& topology_placements() {
  static const std::vector<std::pair<std::string, std::string>> kAll = {
      {"smt", "two hardware threads of one core (SMT siblings)"},
      {"core", "two cores that share a last-level cache"},
      {"llc", "two last-level caches of one package"},
      {"socket", "two packages (sockets)"},
      {"numa", "two NUMA nodes"},
      {"all-pairs", "every pair of usable CPUs, each named cpuA-cpuB (a core-to-core heatmap)"},
  };
  return kAll;
}

bool is_topology_placement(const std::string& name) {
  const auto& all = topology_placements();
  return std::any_of(all.begin(), all.end(), [&](const auto& p) { return p.first == name; });
}

std::vector<PlacementOption> plan_placements(const Topology& t, int prefer_cpu) {
  std::vector<PlacementOption> out;
  for (const auto& [name, what] : topology_placements()) {
    out.push_back(plan_one(t, name, prefer_cpu));
  }
  return out;
}

nlohmann::json placements_to_json(const std::vector<PlacementOption>& plan) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& o : plan) {
    if (o.placements.empty()) {
      j[o.name] = {{"available", false}, {"why", o.why}};
    } else if (o.name == "all-pairs") {
      j[o.name] = {{"available", true}, {"pairs", o.placements.size()}};
    } else {
      j[o.name] = {{"available", true},
                   {"cpus", {o.placements[0].cpu_self, o.placements[0].cpu_peer}}};
    }
  }
  return j;
}

}  // namespace ipcb
