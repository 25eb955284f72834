// Suites: named sets of (workload x backend x sync x size x mode x placement) plus run settings,
// kept as TOML files under suites/. A suite holds one or more matrices (`[[matrix]]` tables; the
// top-level keys are their defaults). Command-line flags narrow or override every matrix; the
// result is the list of BenchSpecs to register, plus the combinations skipped because this
// machine's limits do not allow them. Invalid input is rejected here, never inside a timed loop.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/run/session.h"
#include "harness/run/topology.h"
#include "harness/sys/error.h"

namespace ipcb {

struct Matrix {
  std::vector<std::string> workloads;   // "all" expands to every workload
  std::vector<std::string> backends;    // "all" expands to every backend
  std::vector<std::string> syncs;       // "all": every sync valid for a backend
  std::vector<size_t> sizes;            // payload bytes
  std::vector<std::string> modes;       // copy, inplace (inplace applies to shm backends only)
  std::vector<std::string> placements;  // cross, same, free, or a topology placement (smt, core,
                                        // llc, socket, numa, all-pairs); empty: cross with 2+ CPUs
};

struct Suite {
  std::string name;
  std::string description;
  std::vector<Matrix> matrices;
  Matrix top;    // the top-level keys as written (defaults of every matrix)
  Matrix asked;  // what the command line named: each must fit some backend of the run
  VerifyMode verify = VerifyMode::kFull;
  double min_time_s = 0.1;  // Google Benchmark's --benchmark_min_time
  int repetitions = 1;
  uint64_t stall_ms = 5000;
  std::vector<int> fans = {2};  // peers of fanin/fanout: each value is a benchmark of its own
  // Offered rates of the rate workload (messages per second), and whether a sweep up to
  // saturation is asked for as well (see harness/plan/rate_sweep.h); a suite without `rates`
  // sweeps.
  std::vector<uint64_t> rates;
  bool rate_sweep = true;
  uint64_t sleep_us = 50;  // `sleep` waiter interval
  uint64_t spin_us = 20;   // `adaptive` waiter spin budget
  // When the physical floors are measured: "start" (once, at the start of the run), "each"
  // (also right after every benchmark, for its own bound: what a ratio to the floor needs on a
  // VM whose host moves the vCPUs) or "off".
  std::string floors = "start";
};

// What the user said on the command line; unset fields keep the suite's values. The matrix
// flags (workloads, backends, syncs, modes, placements) narrow each of the suite's matrices to
// what they share with it, and sizes replace the suite's; when no matrix keeps anything, the
// flags apply to the whole suite as one matrix (its top-level keys, else the union of its
// matrices). A backend, sync or mode named here that fits nothing is an error.
//
// With `exact` (the command line named no suite), the matrix flags instead define the run
// themselves: exactly the valid combinations of what they name, one slice per workload; a
// dimension they leave out takes the suite's sizes for that workload, copy mode, the default
// placement, and every backend or sync.
struct SuiteOverrides {
  bool exact = false;
  std::vector<std::string> workloads, backends, syncs, sizes, modes, placements;
  std::optional<std::string> verify;
  std::optional<int> repetitions;
  std::optional<double> min_time_s;
  std::optional<uint64_t> stall_ms;
  std::vector<int> fans;           // --fan 1,2,4 (empty: the suite's)
  std::vector<std::string> rates;  // --rate 10k,1M or sweep (empty: the suite's)
  std::optional<uint64_t> sleep_us, spin_us;
};

// The directory holding the built-in suites (the source tree's suites/, or $IPCBENCH_SUITES).
std::string suite_directory();
// Loads a suite by name ("default" -> suites/default.toml) or by path.
Result<Suite> load_suite(const std::string& name_or_path);
Result<Suite> parse_suite(const std::string& toml_text, const std::string& origin);
Status apply_overrides(Suite& suite, const SuiteOverrides& o);

// "64", "4K", "1M" (powers of 1024). Rejects 0, garbage and anything above kMaxPayload.
Result<size_t> parse_size(const std::string& text);
// A size or a range "A..B": A, 2A, 4A, ... up to B (powers of two when A is one: "8..64M").
Result<std::vector<size_t>> parse_size_item(const std::string& text);
// Offered rates ("10k", "2.5M", ...) and "sweep": the rates, and whether a sweep was named.
Result<std::pair<std::vector<uint64_t>, bool>> parse_rates(const std::vector<std::string>& texts);
// Messages one call of the rate workload sends at `rate`: --min-time's worth, and at least
// 2000 (for the tail percentiles) unless that would take more than 2 s.
uint64_t rate_messages(uint64_t rate, double min_time_s);
std::string size_label(size_t bytes);  // 65536 -> "64K"

// The CPUs placements use: `cpus[0]` for the measured side, `cpus[1]` for the peers in `cross`.
struct CpuChoice {
  int first = -1;
  int second = -1;  // -1: this machine lets us use one CPU only
  // The topology placements (smt, core, llc, socket, numa, all-pairs) planned on this
  // machine's topology (plan_placements); empty until a command reads the topology.
  std::vector<PlacementOption> topology;
  const PlacementOption* option(const std::string& name) const;
};
Result<Placement> make_placement(const std::string& name, const CpuChoice& cpus);

struct Skipped {
  std::string name;    // the benchmark's name
  std::string reason;  // the limit that prevents it, with its value
};

struct Expansion {
  std::vector<BenchSpec> specs;
  std::vector<Skipped> skipped;
};

// Expands the suite into BenchSpecs (placements, fan and deadlines filled in), skipping sizes a
// backend cannot carry here. Duplicates (matrices that overlap) appear once.
Result<Expansion> expand(const Suite& suite, const CpuChoice& cpus);

}  // namespace ipcb
