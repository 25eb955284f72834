// One side's view of a channel during a workload: numbers and frames outgoing messages,
// receives and checks incoming ones. Used identically by the measured side and the peer.
#pragma once

#include <vector>

#include "harness/channel.h"
#include "harness/frame.h"

namespace ipcb {

// How payload bytes move through a shared-memory channel. In both modes the sender writes every
// payload byte and the receiver reads every payload byte; they differ in the copies.
enum class CopyMode {
  kCopy,     // the sender's message is copied into the ring, the receiver copies it out
  kInplace,  // the sender builds the message in the ring slot, the receiver checks it there
};
const char* copy_mode_name(CopyMode m);
Result<CopyMode> parse_copy_mode(const std::string& s);

class Endpoint {
 public:
  Endpoint(Channel& channel, size_t payload_bytes, VerifyMode verify, CopyMode mode);

  // Sends the next message: sequence number, `flags`, `send_ns`, and the payload for that seq.
  Status send(uint32_t flags, uint64_t send_ns = 0);
  // Sends the last received payload back, unchanged, as our next message (pingpong's echo).
  Status echo(const FrameHeader& received);
  // Receives one message and checks it. A payload fault is counted (last_fault()); a frame the
  // protocol cannot act on (length, flags, sequence) is an Error naming the field. With
  // `defer_check`, only the length and flags are checked now and the rest at finish_check()
  // (or the next recv): an echo can go out before the payload pass (pingpong's peer).
  Result<FrameHeader> recv(bool defer_check = false);
  // The deferred part of the last recv's check, if any; then the message's slot is released.
  Status finish_check();
  FrameFault last_fault() const { return last_fault_; }

  const FrameChecker& checker() const { return checker_; }
  uint64_t sent() const { return tx_seq_; }
  // Message bytes (header included) sent and received since construction or the last reset.
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }
  void reset_byte_counts() { bytes_sent_ = bytes_received_ = 0; }

 private:
  Status put(const FrameHeader& h, std::span<const std::byte> payload);
  void release_held();
  Status check_last();

  Channel& channel_;
  CopyMode mode_;
  VerifyMode verify_;
  PayloadSource source_;
  FrameChecker checker_;
  std::vector<std::byte> rx_buf_;
  std::span<const std::byte> held_;      // in place: the last received message, still in the ring
  std::span<const std::byte> last_msg_;  // the last received message (held_ or rx_buf_)
  bool pending_ = false;                 // its check was deferred
  FrameChecker::Compared compared_ = FrameChecker::Compared::kNot;  // by the copy out
  uint64_t tx_seq_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t sink_ = 0;  // keeps the --verify off read of every byte from being optimised away
  FrameFault last_fault_ = FrameFault::kNone;
};

}  // namespace ipcb
