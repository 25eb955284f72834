// The physical floors of this machine, measured in the same run and placement as the
// benchmarks: what no IPC mechanism can beat, so every result can be read against them (and a
// result below its floor, which is impossible, is flagged). Plain reference loops between two
// threads pinned like the run's two sides: cache-line ping-pong (one line shared, or one line
// per direction), the copies a message needs, the futex and pipe hand-off, the clock's cost.
// Every copy is the message path's own (copy_bytes, see frame.h), not the C library's memcpy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/run/environment.h"
#include "harness/sys/error.h"

namespace ipcb {

struct SizeFloors {
  size_t bytes = 0;
  double memcpy_bytes_per_second = 0;  // one thread, hot buffers, copy_bytes
  // One-way time of a reference ping-pong of `bytes`: flag on its own line per direction, the
  // payload copied into a shared buffer and out again (copy) or copied in and read (inplace).
  double pingpong_copy_ns = 0;
  double pingpong_inplace_ns = 0;
  // One-way time of ipcbench's own slot protocol with nothing else (two rings of 64 slots, the
  // stamp in the slot, frame header + payload copied in and out, no checks, no framing code):
  // a spin ping-pong's ratio to it is the harness's own overhead.
  double pingpong_slot_ns = 0;
  // Throughput of a reference stream through a ring of as many slots as the stream's own: copy in,
  // copy out (copy) or copy in, read (inplace); a consumer that has read every message it saw
  // written waits for a batch, as ours.
  double stream_copy_bytes_per_second = 0;
  double stream_inplace_bytes_per_second = 0;
};

struct Floors {
  std::string placement;
  int cpu_a = -1, cpu_b = -1;
  double clock_ns = 0;  // one CLOCK_MONOTONIC read
  double line1_ns = 0;  // one-way, both directions through one cache line
  double line2_ns = 0;  // one-way, a cache line per direction
  double futex_ns = 0;  // one-way hand-off: FUTEX_WAKE to a sleeping FUTEX_WAIT
  double pipe_ns = 0;   // one-way hand-off: a byte through a pipe to a blocked read
  // The fastest tenth of those hand-offs: between vCPUs that halt when idle, a hand-off is fast
  // or slow depending on whether the other CPU was still awake, so a whole run can be faster
  // than the median (a blocking result is flagged only below the polling floor: see bound_for).
  double futex_fast_ns = 0;
  double pipe_fast_ns = 0;
  std::vector<SizeFloors> sizes;
  double seconds = 0;  // what measuring took
  std::string error;   // non-empty when the floors could not be measured (threads, memory)
  // 1, unless IPCBENCH_TEST_FLOOR_SCALE made them a machine that many times slower (see
  // scale_floors); the JSON then says so.
  double test_scale = 1;
};

// Makes `f` the floors of a machine `factor` times slower: every time multiplied, every rate
// divided. measure_floors applies IPCBENCH_TEST_FLOOR_SCALE this way, so the tests can see a
// result fall below its floor (and what the run then does) on any machine.
void scale_floors(Floors& f, double factor);
// IPCBENCH_TEST_FLOOR_SCALE's factor: 1 when it is not set, an Error when it is not a number
// above 0 (run and floors refuse to start then).
Result<double> test_floor_scale();

// What measure_floors measures: everything (a run's start, `ipcbench floors`), or, for a floor
// taken next to one benchmark, only what bounds it (floor_parts_for).
struct FloorParts {
  bool lines = true;     // line1_ns, line2_ns
  bool handoffs = true;  // futex and pipe hand-offs
  bool pingpong = true;  // per size: the reference ping-pongs
  bool stream = true;    // per size: the stream ceilings
};
FloorParts floor_parts_for(const std::string& workload, const std::string& wait_mode);
// Measures the floors for one placement and the given payload sizes, in at most about
// `budget_s` seconds (the time is split between the items; larger sizes get fewer rounds). Each
// latency floor is the median over short windows, the way a result's p50 is read: on a VM whose
// host moves the vCPUs, a hand-off between them changes by up to 10x from one second to the
// next. A stream ceiling is read as a spinning stream's rate is (steady_pace;
// PaceWindows::steady_pace).
Floors measure_floors(const Placement& placement, const std::vector<size_t>& sizes, double budget_s,
                      FloorParts parts = {});
// The floors of `bytes`-byte payloads in `f`, or nullptr.
const SizeFloors* size_floors(const Floors& f, size_t bytes);
// Replaces in `into` what `fresh` measured (the `parts` of it, and the sizes `fresh` has): a
// floor measured again later in the run.
void update_floors(Floors& into, const Floors& fresh, FloorParts parts);
// Keeps in `fastest` the fastest of each floor across measurements: the shortest times and the
// highest rates (a value `fresh` did not measure, 0, changes nothing; a size it has that
// `fastest` lacks is added). What a result must beat to be impossible: a VM's host moves
// between speeds (on a 2-vCPU AMD EPYC guest, a cache-line hand-off of about 27, 55 or 190 ns,
// each for a second or more), and a result measured in a fast spell is no error for being below
// a floor measured in a slow one.
void keep_fastest(Floors& fastest, const Floors& fresh);
// The pace of a reference stream from its windows (each of the same bytes, paces in bytes/s),
// read the way a spinning stream's pace is for its ratio (PaceWindows::steady_pace): bytes over
// time, a mean, not the median window (which read higher in 20 of 24 ceilings on a 2-vCPU AMD
// EPYC guest, by 1-16%, typically 3-4%: the windows a timer tick slows are in every result's pace
// too, so a stream that ran exactly like the reference read below 1 against a median). Left out:
// the first tenth of the windows (a result is timed after its warm-up) and windows below
// PaceWindows::kSlowPace of the median (a host spell, no ceiling of this machine; a result leaves
// its own out too, and more than 15% of its time in them leaves its ratio unsettled).
double steady_pace(const std::vector<double>& windows);
nlohmann::json floors_to_json(const Floors& f);
// The floor (latency, ns) or ceiling (throughput, bytes/s) that bounds one benchmark, and
// whether a smaller value is better. `wait_mode` says how the sides waited (blocking waits are
// bounded by the futex or pipe hand-off, polling ones by the cache-line hand-off).
struct Bound {
  bool known = false;
  bool latency = true;  // floor_ns; false: ceiling_bytes_per_second
  double value = 0;
  std::string what;  // which floor, for the report
  // Beyond this (with the tolerance) a result is impossible; 0: `value` itself.
  double impossible = 0;
  std::string impossible_what;  // which floor `impossible` is, for the report
  // How far past the bound a result may lie before it is flagged as impossible: the floors are
  // measured too (a polling hand-off and the copy passes to within about 15% between runs on a
  // shared 2-vCPU VM; a blocking one varies with how deeply the other CPU slept, by tens of
  // percent).
  double tolerance = 0.15;
};
Bound bound_for(const Floors& f, const std::string& workload, const std::string& backend_kind,
                const std::string& wait_mode, bool inplace, size_t payload_bytes);
// Whether `measured` lies beyond both `before` and `after` (the same bound, measured right before
// and right after the result) by more than their tolerance: below both for a latency, above both
// for a stream whose sides spin. Never for a blocking result, whose waiter may find its message
// before it sleeps (Bound::impossible is set then).
bool beyond_both_floors(const Bound& before, const Bound& after, double measured,
                        const std::string& wait_mode);

}  // namespace ipcb
