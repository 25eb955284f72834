// Workloads: what the two sides do, identical for every channel. A workload sees only the
// Session's Endpoint (the channel interface); it never knows which mechanism carries the bytes.
#pragma once

#include <sys/resource.h>

#include <string>
#include <vector>

#include "harness/histogram.h"
#include "harness/session.h"

namespace ipcb {

// The measured loop, as the benchmark framework drives it.
class Loop {
 public:
  virtual ~Loop() = default;
  // True while another measured iteration (one message or one round trip) should run.
  virtual bool next() = 0;
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
  uint64_t verified = 0;      // measured-phase data messages that passed every check
  uint64_t errors = 0;        // faults on both sides, warm-up included
  std::string first_error;
  rusage peer_usage{};
};

struct WorkloadInfo {
  const char* name;
  const char* description;
  bool peer_echoes;  // the peer sends each data message back (else it only receives)
  Result<Measurement> (*measure)(Session& session, Loop& loop);
};

const std::vector<WorkloadInfo>& workloads();
const WorkloadInfo* find_workload(const std::string& name);

// Shared by the workloads: warm-up before anything is recorded. Sends messages (and, with
// `echo`, receives each answer) until `min_messages` and ~10 ms have passed or `max_messages`
// were sent, then syncs. Returns the mean time per message in ns.
Result<uint64_t> warm_up(Session& s, bool echo);
// Shared by the workloads, after the kFrameStop handshake: the peer's report and the verdict
// counters.
Status finish(Session& s, Measurement& m, uint64_t own_verified);

}  // namespace ipcb
