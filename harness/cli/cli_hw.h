// What `run` adds for the hardware cost per message (perf counters) and the placements on the
// CPU topology, and `ipcbench topology`, which shows what the placements find on a machine.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/plan/suite.h"
#include "harness/run/perf_counters.h"
#include "harness/run/topology.h"

namespace ipcb {

// Reads the topology under `root` ("/": this machine) and plans the topology placements into
// `cpus`. Prints one line per topology placement `suite` names that this machine does not
// allow, saying why; an error (naming each why) when every placement the suite names is
// unavailable. On this machine an unreadable topology only makes those placements
// unavailable; under another root it is an error.
Result<Topology> plan_topology(const std::string& root, const Suite& suite, CpuChoice& cpus);
// context.topology: the reader's view and each placement's CPUs or why it is unavailable.
nlohmann::json topology_context(const Topology& t, const CpuChoice& cpus);

// Probes the perf events once (with `enabled`), prints what is counted and one line per reason
// an event is absent, and sets every spec's perf flag.
PerfSupport set_up_perf(bool enabled, std::vector<BenchSpec>& specs);

struct TopologyArgs {
  std::string root = "/";
  bool json = false;
};
int cmd_topology(const TopologyArgs& a);

}  // namespace ipcb
