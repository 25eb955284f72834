// `ipcbench run`: expands the suite, registers the matrix, runs it under Google Benchmark and
// writes bench.json, bench.csv and summary.md into --out (atomically, under a lock on the folder).
#pragma once

#include <string>
#include <vector>

#include "harness/cli/cli_common.h"
#include "harness/plan/suite.h"

namespace ipcb {

struct RunArgs {
  std::string suite = "default";
  ProbeArgs probe;
  SuiteOverrides o;
  std::string pin;
  std::string out = "ipcbench-results";
  std::vector<std::string> gbench;  // --benchmark_* passed through
  bool no_floors = false;           // skip measuring the floors first
  bool verbose = false;             // Google Benchmark's full table and the configuration
  bool dry_run = false;             // list what would run, and how many, then exit
  uint64_t iterations = 0;          // fixed iterations per benchmark (0: Google Benchmark sizes)
  bool no_preflight = false;        // skip the conformance preflight (suites/bench/preflight.h)
  std::string floors;               // start, each or off; empty: the suite's (see Suite::floors)
  uint64_t inject_ns = 0;           // busy work per message in the peer (see BenchSpec)
  std::string inject_filter;        // ...only for benchmarks whose name matches (ECMAScript)
  bool perf = false;                // count perf events per message (harness/run/perf_counters.h)
  std::string topology_root = "/";  // where sys/devices/system/cpu is read from (topology.h)
};

int cmd_run(const RunArgs& a);

}  // namespace ipcb
