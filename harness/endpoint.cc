// Endpoint (see endpoint.h).
#include "harness/endpoint.h"

#include <cstring>

namespace ipcb {

const char* copy_mode_name(CopyMode m) {
  return m == CopyMode::kInplace ? "inplace" : "copy";
}

Result<CopyMode> parse_copy_mode(const std::string& s) {
  if (s == "copy") return CopyMode::kCopy;
  if (s == "inplace") return CopyMode::kInplace;
  return plain_error("mode '" + s + "'", "expected copy or inplace");
}

Endpoint::Endpoint(Channel& channel, size_t payload_bytes, VerifyMode verify, CopyMode mode)
    : channel_(channel),
      mode_(mode),
      verify_(verify),
      source_(payload_bytes),
      checker_(source_, verify),
      rx_buf_(mode == CopyMode::kCopy ? sizeof(FrameHeader) + payload_bytes : 0) {}

Status Endpoint::put(const FrameHeader& h, std::span<const std::byte> payload) {
  if (mode_ == CopyMode::kCopy) {
    IPCB_TRY_STATUS(channel_.send(h, payload));
  } else {
    IPCB_TRY(auto slot, channel_.reserve_send());
    std::memcpy(slot.data(), &h, sizeof h);
    std::memcpy(slot.data() + sizeof h, payload.data(), payload.size());
    channel_.commit_send();
  }
  bytes_sent_ += sizeof h + payload.size();
  return ok_status();
}

void Endpoint::release_held() {
  if (held_.empty()) return;
  held_ = {};
  channel_.release_recv();
}

Status Endpoint::send(uint32_t flags, uint64_t send_ns) {
  uint64_t seq = tx_seq_++;
  FrameHeader h{seq, static_cast<uint32_t>(source_.size()), flags, send_ns, source_.checksum(seq)};
  return put(h, source_.payload(seq));
}

Status Endpoint::echo(const FrameHeader& received) {
  FrameHeader h = received;
  h.seq = tx_seq_++;
  h.flags = kFrameData;
  auto msg = mode_ == CopyMode::kCopy ? std::span<const std::byte>(rx_buf_) : held_;
  if (msg.size() != sizeof(FrameHeader) + source_.size()) {
    return plain_error("echo", "the received message has the wrong length");
  }
  auto st = put(h, msg.subspan(sizeof(FrameHeader)));
  release_held();
  return st;
}

Result<FrameHeader> Endpoint::recv() {
  release_held();
  std::span<const std::byte> msg;
  if (mode_ == CopyMode::kCopy) {
    IPCB_TRY(size_t n, channel_.recv(rx_buf_));
    msg = std::span<const std::byte>(rx_buf_).first(n);
  } else {
    IPCB_TRY(msg, channel_.peek_recv());
    held_ = msg;
    // Nothing else reads the payload in place, so --verify off must read it here.
    if (verify_ == VerifyMode::kOff) sink_ += touch_all(msg);
  }
  bytes_received_ += msg.size();
  last_fault_ = checker_.check(msg);
  // A frame the protocol cannot act on ends the run now, naming the field; waiting for the
  // answer it will never get would only be reported later as a stall.
  if (is_protocol_fault(last_fault_)) {
    return plain_error("corrupt frame received", checker_.last_error());
  }
  return read_header(msg);
}

}  // namespace ipcb
