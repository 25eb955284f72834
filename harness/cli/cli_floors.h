// `ipcbench floors` and the floors every `run` measures first (see harness/run/floors.h).
#pragma once

#include <string>
#include <vector>

#include "harness/cli/cli_common.h"
#include "harness/run/floors.h"
#include "harness/run/session.h"

namespace ipcb {

// Floors for every placement of `specs`, at the payload sizes of their pingpong and stream
// benchmarks, in about `budget_s` seconds in all.
std::vector<Floors> floors_for(const std::vector<BenchSpec>& specs, double budget_s);
// One line per placement for the console: "floors cross (CPU 0/1): line 75 ns, ...".
std::string floors_summary(const Floors& f);

struct FloorsArgs {
  std::vector<std::string> sizes = {"8", "64", "4K", "64K", "1M"};
  std::vector<std::string> placements;  // empty: cross with 2+ CPUs, else same
  std::string pin;
  double budget_s = 3;
  bool json = false;
};
int cmd_floors(const FloorsArgs& a);

}  // namespace ipcb
