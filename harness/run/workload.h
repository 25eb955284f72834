// Workloads: what the two sides do, identical for every channel. A workload sees only the
// Session's Endpoints (the channel interface); it never knows which mechanism carries the bytes.
#pragma once

#include <string>
#include <vector>

#include "harness/run/histogram.h"
#include "harness/run/session.h"

namespace ipcb {

// The measured loop, as the benchmark framework drives it.
class Loop {
 public:
  virtual ~Loop() = default;
  // True while another measured iteration (one message or one round trip) should run.
  virtual bool next() = 0;
  // How many iterations this run will make (next() returns true exactly that often).
  virtual uint64_t planned() const = 0;
  // Adds measured time (ns) to the framework's clock.
  virtual void add_time(uint64_t ns) = 0;
};

struct Measurement {
  uint64_t iterations = 0;     // measured iterations (round trips or messages sent)
  uint64_t messages = 0;       // messages delivered in the measured phase
  uint64_t payload_bytes = 0;  // payload bytes delivered in the measured phase
  uint64_t elapsed_ns = 0;
  Histogram latency;  // one-way latency
  Histogram rtt;      // round trip (pingpong only)
  bool has_rtt = false;
  uint64_t sample_every = 1;  // one message in this many is timed
  // stream and fanout: the share of the measured phase that ran below half its median pace
  // (PaceWindows: a host slow spell mid-run, or a mechanism with two paces); -1 when not measured.
  double slow_share = -1;
  // stream and fanout: the payload bytes per second of the windows that did not run slow
  // (PaceWindows::steady_pace), what a spinning stream is read against its ceiling with; -1 when
  // not measured.
  double steady_bytes_per_second = -1;
  uint64_t verified = 0;  // measured-phase data messages that passed every check
  uint64_t errors = 0;    // faults on both sides, warm-up included
  std::string first_error;
  // The fairness contract: how each side waited and what the transfer cost both of them.
  std::string wait_mode;
  Usage self_usage;            // measured side, over the measured phase
  Usage peer_usage;            // all peers together, over the measured phase
  PerfCounts self_perf;        // perf events of the measured side, over the measured phase
  PerfCounts peer_perf;        // ...of all peers together (an event some peer missed: absent)
  uint64_t bytes_written = 0;  // message bytes (headers included) both sides sent
  uint64_t bytes_read = 0;     // message bytes both sides received
  double copies_per_msg = 0;   // copies per delivered message (2; 1 in place; 1 + 1/N broadcast)
  size_t ring_bytes = 0;       // shared memory: the measured side's ring (0: a kernel channel)
  bool broadcast = false;      // one write reached every peer
  // rate (paced sends): `latency` is then from the intended send time (coordinated omission
  // corrected) and `uncorrected` from the actual send; see harness/run/rate.h.
  bool paced = false;
  bool has_uncorrected = false;
  uint64_t offered_rate = 0;   // messages per second the schedule offered
  Histogram uncorrected;       // latency from the actual send
  Histogram send_lag;          // actual send - intended send, per message
  uint64_t backpressured = 0;  // messages that came due while a send waited (PaceStats)
  uint64_t pace_poll_ns = 0;   // the sender's wall time polling the clock for due times
};

struct WorkloadInfo {
  const char* name;
  const char* description;
  PeerRole peer_role;
  bool fans_out;   // runs with `fan` peers (else exactly one)
  bool one_write;  // fanout: shared memory writes each message once for every peer
  bool deep;       // many messages in flight: deep rings (see ChannelConfig::deep)
  Result<Measurement> (*measure)(Session& session, Loop& loop);
  // Tells its peers how many messages to send before the loop starts (Loop::planned()), so it
  // cannot stop when told: Google Benchmark sizes its runs.
  bool count_up_front = false;
};

const std::vector<WorkloadInfo>& workloads();
const WorkloadInfo* find_workload(const std::string& name);

// Shared by the workloads: warm-up before anything is recorded. Sends to every peer (and, with
// `echo`, receives each answer) until a minimum count and ~10 ms have passed (1 ms for a call
// of fewer than 1000 `planned` iterations), twice, syncing after each. Returns the mean time per
// message in ns.
Result<uint64_t> warm_up(Session& s, bool echo, uint64_t planned);
// Shared by the workloads: marks the start of the measured phase (after the last sync).
void begin_measuring(Session& s, Measurement& m);
// Shared by the workloads, after the kFrameStop handshake: the peers' reports, the verdict and
// fairness counters. `own_verified` counts data messages the measured side verified.
Status finish(Session& s, Measurement& m, uint64_t own_verified);
// One clock read in `stamp_stride` messages keeps the timer at most 2% of the time per message, on
// each side (the sender stamps, the receiver reads the clock and records the latency).
uint64_t stamp_stride(uint64_t per_msg_ns);

}  // namespace ipcb
