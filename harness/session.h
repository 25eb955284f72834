// One benchmark call's world: the owner side of a channel, the peer process that opened it by
// name, and the endpoint that frames messages. Creating a Session creates the object and starts
// the peer; destroying it stops the peer and removes the object, on every path.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "harness/endpoint.h"
#include "harness/histogram.h"
#include "harness/peer.h"

namespace ipcb {

// Everything that identifies one benchmark and how it runs.
struct BenchSpec {
  std::string workload;
  std::string backend;
  std::string sync;
  size_t payload_bytes = 64;
  VerifyMode verify = VerifyMode::kFull;
  int cpu_self = -1;                     // CPU of the measured side (-1: not pinned)
  int cpu_peer = -1;                     // CPU of the peer
  uint64_t stall_ns = 5'000'000'000ULL;  // a run making no progress this long is killed

  // "WORKLOAD/BACKEND/SYNC/SIZE_BYTES"
  std::string name() const;
};

// What the peer reports when it finishes (one JSON line on its standard output).
struct PeerReport {
  uint64_t verified = 0;  // data messages it verified after warm-up
  uint64_t errors = 0;    // every fault it saw, warm-up included
  std::string first_error;
  Histogram latency;  // one-way latency of stamped messages (stream)
  rusage usage{};
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> start(const BenchSpec& spec);
  ~Session();

  Endpoint& endpoint() { return *endpoint_; }
  PeerProcess& peer() { return *peer_; }
  const BenchSpec& spec() const { return spec_; }

  // Sends `flag` (kFrameSync or kFrameStop) and waits for the peer's kFrameAck. After the
  // first successful sync the object's name is removed (the peer has it open).
  Status handshake(uint32_t flag);
  // After the kFrameStop handshake: waits for the peer to exit and parses its report.
  Result<PeerReport> collect();
  // Adds what happened to the peer (exit status, signal, its error text) to a failure.
  Error with_peer_state(Error e);

 private:
  explicit Session(BenchSpec spec) : spec_(std::move(spec)) {}

  BenchSpec spec_;
  std::atomic<bool> abort_{false};  // raised by the peer's watchdog; declared before its users
  std::unique_ptr<OwnedChannel> channel_;
  std::unique_ptr<PeerProcess> peer_;
  std::unique_ptr<Endpoint> endpoint_;
  bool connected_ = false;
};

// The peer's side: parse its command line, open the channel, serve until kFrameStop, print the
// report. Returns the process exit code.
int peer_main(const std::vector<std::string>& args);

}  // namespace ipcb
