// One benchmark call's world: the owner side of one channel per peer, the peer processes that
// opened them by name, and the endpoints that frame messages. Creating a Session creates the
// objects and starts the peers; destroying it stops the peers and removes the objects, on every
// path. pingpong and stream have one peer; fanin and fanout have `fan` of them.
#pragma once

#include <sys/resource.h>

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "harness/run/environment.h"
#include "harness/run/histogram.h"
#include "harness/run/peer.h"
#include "harness/run/perf_counters.h"
#include "harness/transport/endpoint.h"

namespace ipcb {

// What the peer does with the messages it gets.
enum class PeerRole {
  kEcho,    // sends every data message back (pingpong)
  kSink,    // receives, verifies and times data messages (stream, fanout)
  kSource,  // sends data messages when asked with a burst command (fanin)
};
const char* role_name(PeerRole r);
Result<PeerRole> parse_role(const std::string& s);

// The largest payload a benchmark sends (parse_size rejects more).
inline constexpr size_t kMaxPayload = 64ull << 20;

// Everything that identifies one benchmark and how it runs.
struct BenchSpec {
  std::string workload;
  std::string backend;
  std::string sync;
  size_t payload_bytes = 64;
  VerifyMode verify = VerifyMode::kFull;
  CopyMode mode = CopyMode::kCopy;
  Placement placement;                   // CPUs of the measured side and of every peer
  int fan = 1;                           // peers (fanin/fanout); 1 otherwise
  uint64_t sleep_ns = 50'000;            // `sleep` waiter interval
  uint64_t spin_ns = 20'000;             // `adaptive` waiter spin budget
  uint64_t stall_ns = 5'000'000'000ULL;  // a run making no progress this long is killed
  bool name_placement = false;           // the suite sweeps placement: name it
  // Busy work (ns) the peer adds to every data message it handles: a known slowdown, to check
  // that a regression gate can see it (--inject-ns). 0 in normal runs.
  uint64_t inject_ns = 0;
  // rate: messages per second offered (0 until a sweep's capacity probe chose it, see
  // harness/plan/rate_sweep.h); `sweep` marks a spec that stands for a whole sweep.
  uint64_t rate = 0;
  bool sweep = false;
  double probed_capacity = 0;  // swept: the closed-loop messages per second the probe measured
  // Messages (or round trips) every call makes, fixed at expansion (rate: enough for its
  // percentiles at its rate); 0: Google Benchmark sizes the run to --min-time.
  uint64_t fixed_iterations = 0;
  // Count perf events (context switches, page faults, task clock, and instructions and cycles
  // where a PMU allows) on both sides over the measured phase (--perf; off by default).
  bool perf = false;

  // "WORKLOAD/BACKEND/SYNC/SIZE_BYTES", then "/RATE" for the rate workload ("/sweep" before a
  // sweep is expanded), "/PLACEMENT" when placements are swept, "/inplace" for the zero-copy
  // mode and "/fanN" for fanin and fanout.
  std::string name() const;
};

// CPU time and context switches of one thread (or process) over the measured phase.
struct Usage {
  uint64_t cpu_ns = 0;  // user + system
  uint64_t voluntary_switches = 0;
  uint64_t involuntary_switches = 0;
  static Usage of_thread();
  Usage operator-(const Usage& o) const;
  Usage& operator+=(const Usage& o);
};

// What the peers report when they finish (one JSON line each on standard output), summed.
struct PeerReport {
  uint64_t verified = 0;  // data messages verified after warm-up
  uint64_t errors = 0;    // every fault seen, warm-up included
  std::string first_error;
  Histogram latency;           // one-way latency of stamped messages it received
  Usage usage;                 // over the measured phase (last sync to stop)
  uint64_t bytes_written = 0;  // message bytes it sent in the measured phase
  uint64_t bytes_read = 0;     // message bytes it received in the measured phase
  // rate: the peer timed paced messages, `latency` from their actual send and `intended` from
  // their intended send time.
  bool paced = false;
  Histogram intended;
  PerfCounts perf;  // perf events over the measured phase, counted by every peer
};

class Session {
 public:
  // With `one_write` (fanout), a backend that can (shared memory) gives every peer the same
  // object, so one write reaches them all; otherwise each peer gets its own channel.
  static Result<std::unique_ptr<Session>> start(const BenchSpec& spec, PeerRole role,
                                                bool one_write = false);
  ~Session();

  size_t links() const { return links_.size(); }
  Endpoint& endpoint(size_t i = 0) { return *links_[i]->endpoint; }
  const BenchSpec& spec() const { return spec_; }
  // How the measured side's channel waits ("spin", "sleep", "block", ...).
  std::string wait_mode() const;
  // The measured side's ring, in bytes (0 for kernel channels; see Channel::ring_bytes).
  size_t ring_bytes() const;

  // True when one write reaches every peer (shared-memory fanout).
  bool broadcast() const { return broadcast_; }
  // Sends the next message to every peer: once when broadcast, else once per peer. Inline for
  // one write (a stream's hot loop), so the endpoint's fast path inlines into the caller.
  Status send_all(uint32_t flags, uint64_t send_ns = 0) {
    if (broadcast_ || links_.size() == 1) return links_.front()->endpoint->send(flags, send_ns);
    return send_each(flags, send_ns);
  }
  // Writes into the channel per message sent with send_all.
  size_t writes_per_message() const { return broadcast_ ? 1 : links_.size(); }

  // The measured side calls this as it makes progress; it resets every peer's stall deadline.
  void progress();
  // Sends `flag` (kFrameSync or kFrameStop) to every peer and waits for each kFrameAck. After
  // the first successful sync each object's name is removed (the peer has it open).
  Status handshake(uint32_t flag);
  // After the kFrameStop handshake: waits for the peers to exit and sums their reports.
  Result<PeerReport> collect();
  // Adds what happened to the peers (exit status, signal, their error text) to a failure.
  Error with_peer_state(Error e);

  // The measured side's perf counters (opened by start() on the calling thread, the one that
  // measures): marks the start of the measured phase, then what was counted since.
  void perf_start() { perf_start_ = self_perf_.read(); }
  PerfCounts perf_since_start() const { return perf_delta(perf_start_, self_perf_.read()); }

 private:
  struct Link {
    std::atomic<bool> abort{false};  // raised by this peer's watchdog; declared before its users
    std::unique_ptr<OwnedChannel> channel;
    std::unique_ptr<PeerProcess> peer;
    std::unique_ptr<Endpoint> endpoint;
    bool connected = false;
  };
  explicit Session(BenchSpec spec) : spec_(std::move(spec)) {}
  Status spawn_peer(Link& link, PeerRole role);
  Status send_each(uint32_t flags, uint64_t send_ns);  // send_all's loop over the peers

  BenchSpec spec_;
  std::atomic<bool> any_abort_{false};  // raised when any peer is gone; outlives the links
  bool broadcast_ = false;
  std::vector<std::unique_ptr<Link>> links_;
  PerfCounters self_perf_;
  PerfCounters::Reading perf_start_;
};

// The most --inject-ns may add per message.
inline constexpr uint64_t kMaxInjectNs = 10'000'000;

// The peer's side: parse its command line, open the channel, serve until kFrameStop, print the
// report. Returns the process exit code.
int peer_main(const std::vector<std::string>& args);

// A fanin burst command carries how many messages to send and how often to stamp them in the
// header's send_ns field (count in the low 40 bits, stamp stride above).
uint64_t encode_burst(uint64_t count, uint64_t stride);
void decode_burst(uint64_t word, uint64_t& count, uint64_t& stride);

}  // namespace ipcb
