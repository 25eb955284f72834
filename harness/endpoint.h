// One side's view of a channel during a workload: numbers and frames outgoing messages,
// receives and checks incoming ones. Used identically by the measured side and the peer.
#pragma once

#include <vector>

#include "harness/channel.h"
#include "harness/frame.h"

namespace ipcb {

class Endpoint {
 public:
  Endpoint(Channel& channel, size_t payload_bytes, VerifyMode mode);

  // Sends the next message: sequence number, `flags`, `send_ns`, and the payload for that seq.
  Status send(uint32_t flags, uint64_t send_ns = 0);
  // Sends the last received payload back, unchanged, as our next message (pingpong's echo).
  Status echo(const FrameHeader& received);
  // Receives one message and checks it; a fault is counted, not returned as an error.
  Result<FrameHeader> recv();
  FrameFault last_fault() const { return last_fault_; }

  const FrameChecker& checker() const { return checker_; }
  const PayloadSource& source() const { return source_; }
  uint64_t sent() const { return tx_seq_; }

 private:
  Channel& channel_;
  PayloadSource source_;
  FrameChecker checker_;
  std::vector<std::byte> rx_buf_;
  uint64_t tx_seq_ = 0;
  FrameFault last_fault_ = FrameFault::kNone;
};

}  // namespace ipcb
