// The CPU topology as sysfs describes it (SMT siblings, cores, last-level cache domains,
// packages, NUMA nodes, online CPUs) and the CPUs this process may use, and the placements it
// allows: `smt` (two hardware threads of one core), `core` (same last-level cache, other core),
// `llc` (same package, other last-level cache), `socket` (other package), `numa` (other NUMA
// node) and `all-pairs` (every pair of usable CPUs, for a core-to-core heatmap). The reader
// takes a root path, so a copy of another machine's tree (tests/topology/) stands in for it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/run/environment.h"
#include "harness/sys/error.h"

namespace ipcb {

struct CpuTopo {
  int cpu = -1;
  bool online = false;
  int package = -1;           // topology/physical_package_id
  int die = -1;               // topology/die_id (-1 where the kernel has none)
  int core = -1;              // topology/core_id: unique within its package and die only
  std::vector<int> siblings;  // topology/thread_siblings_list: its core's threads, itself too
  int llc = -1;               // index into Topology::llcs (-1: no cache information)
  int node = -1;              // NUMA node (-1: no node lists them)
};

struct CacheDomain {
  int level = 0;          // the highest cache level (data or unified) of its CPUs
  std::vector<int> cpus;  // shared_cpu_list
};

struct Topology {
  std::string root;
  std::vector<CpuTopo> cpus;  // every cpuN directory, by number; offline ones know little
  std::vector<int> online;
  std::vector<int> allowed;  // proc/self/status Cpus_allowed_list (affinity and cpuset)
  std::vector<CacheDomain> llcs;
  std::vector<int> nodes;               // NUMA node numbers
  std::string smt_active, smt_control;  // smt/active, smt/control ("" when absent)

  // Online CPUs this process may use, ascending.
  std::vector<int> usable() const;
  const CpuTopo* cpu(int n) const;
  // "1 package, 1 NUMA node, 1 LLC (L3), 2 cores x 1 thread, 2 online CPUs; usable 0-1"
  std::string summary() const;
  nlohmann::json to_json() const;
};

// Reads ROOT/sys/devices/system/cpu, ROOT/sys/devices/system/node and ROOT/proc/self/status
// (root "/" on this machine). A missing file leaves its field unknown; no cpuN directory at
// all, or a list file that is not a CPU list, is an error.
Result<Topology> read_topology(const std::string& root);

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; "" -> {}.
Result<std::vector<int>> parse_cpu_list(const std::string& text);
// {0,1,2,3,8} -> "0-3,8".
std::string cpu_list_text(const std::vector<int>& cpus);

// One topology placement on one machine.
struct PlacementOption {
  std::string name;  // smt, core, llc, socket, numa, all-pairs
  // Where the measured side and the peers run: one pair, or every pair for all-pairs (named
  // "cpuA-cpuB"). Empty when the machine does not allow it.
  std::vector<Placement> placements;
  std::string why;  // when empty: why not, in one line
};

// smt, core, llc, socket, numa, all-pairs: what each means, for `ipcbench list`.
const std::vector<std::pair<std::string, std::string>>& topology_placements();
bool is_topology_placement(const std::string& name);
// Every topology placement on `t`. A named placement takes the first pair of usable CPUs that
// fits it, preferring one whose first CPU (the measured side's) is `prefer_cpu`.
std::vector<PlacementOption> plan_placements(const Topology& t, int prefer_cpu);
// {"smt": {"available": false, "why": ...}, "core": {"available": true, "cpus": [0, 1]}, ...}
nlohmann::json placements_to_json(const std::vector<PlacementOption>& plan);

}  // namespace ipcb
