// Registers the matrix with Google Benchmark: one benchmark per BenchSpec, named
// WORKLOAD/BACKEND/SYNC/SIZE_BYTES, measured with manual time (the workload's own clock) and
// reporting the counters every result carries.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "harness/run/floors.h"
#include "harness/run/session.h"

namespace ipcb {

// Failures seen while the benchmarks ran; the run command exits non-zero if any.
struct RunTally {
  std::vector<std::string> failures;  // "NAME: what went wrong"
  // Per benchmark name: the descriptive fields of its results (wait_mode, copy mode, placement,
  // fan, ...) that are text, not counters; merged into every bench.json entry of that name.
  nlohmann::json fields = nlohmann::json::object();
  // "NAME: p50 40 ns is below its floor 75 ns (...)": results a floor says are impossible, per
  // benchmark and repetition (Google Benchmark calls a benchmark several times to size its run:
  // the last call is the result, so it replaces what the earlier ones said).
  std::map<std::pair<std::string, int>, std::string> below_floor;
  // Benchmarks that failed in a repetition: their later repetitions are not run.
  std::set<std::string> failed;
  // Per benchmark and repetition: its full histograms (name, repetition_index, latency and,
  // for pingpong, rtt), for histograms.json; the last sizing call's replaces earlier ones.
  std::map<std::pair<std::string, int>, nlohmann::json> histograms;
  // Benchmarks after which the floor was measured again (and updated for the rest of the run)
  // because the result was below the floor measured earlier.
  std::set<std::string> floors_rechecked;
  // Per placement: the fastest of every floor measured in the run (keep_fastest). A result is
  // impossible only below that: the ratio is to the freshest floor.
  std::map<std::string, Floors> fastest_floors;
  // "NAME: ..." for the results whose ratio_to_floor is not judged: their floor, measured right
  // before and right after them (each_budget_s), moved by more than its own noise (the machine
  // changed speed in between, as a VM's vCPUs do), or the host ran them faster than both floors,
  // or (a spinning shared-memory stream) their pace was not steady (Measurement::slow_share).
  std::map<std::pair<std::string, int>, std::string> floor_unsettled;
  // Per benchmark and repetition: the iterations a self-sized call measured (see
  // register_benchmarks), for bench.json's "iterations" in place of Google Benchmark's 1.
  std::map<std::pair<std::string, int>, uint64_t> measured_iterations;
};

// Registers every spec `repetitions` times (`iterations`, when not 0, fixes each run's
// iterations: one call, no sizing calls), back to back, each as its own Google Benchmark run
// of one repetition under the same name: Google Benchmark 1.7.1 crashes when it aggregates
// repetitions that include a failed one, so ipcbench numbers and aggregates the repetitions
// itself (add_repetition_aggregates in harness/report/report.h).
// `floors` (one per placement of the run, may be empty) give each result its floor_ns or
// ceiling_bytes_per_second and ratio_to_floor counters. With `each_budget_s` > 0 the floor that
// bounds a result is measured right before and right after it, for that long each, and the
// result is read against the one after; when the two differ by more than the floors' own noise
// the ratio is marked unsettled (floor_drift counter, RunTally::floor_unsettled), as is a
// spinning shared-memory stream's that ran more than 15% of its time below half its median pace.
// Otherwise a result below its floor has the floor measured again right after it (the VM may have
// become faster since), and `floors` keeps the fresher values for the benchmarks that follow: only
// a result below both is reported as below its floor. Without a fixed count, a workload that stops
// when told (pingpong, stream, fanout) sizes itself: one call that, after its warm-up, measures for
// `min_time_s` (Google Benchmark's own sizing would call it with 1, 10, 100, ... iterations first,
// each call a new session: peers started, objects created, rings faulted in). Its count goes into
// bench.json through set_measured_iterations. A workload that must know its count up front (fanin)
// is sized by Google Benchmark.
void register_benchmarks(const std::vector<BenchSpec>& specs, int repetitions,
                         std::vector<Floors>& floors, double each_budget_s, RunTally& tally,
                         uint64_t iterations = 0, double min_time_s = 0);
// Sets "iterations" of the self-sized results in `bench` (Google Benchmark's JSON) to what they
// measured.
void set_measured_iterations(nlohmann::json& bench, const RunTally& tally);

}  // namespace ipcb
