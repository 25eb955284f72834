// Endpoint (see endpoint.h).
#include "harness/endpoint.h"

#include <cstring>
#include <string>

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
  if (!pending_) release_held();  // a deferred check still reads it (finish_check releases)
  return st;
}

Result<FrameHeader> Endpoint::recv(bool defer_check) {
  IPCB_TRY_STATUS(finish_check());
  release_held();
  std::span<const std::byte> msg;
  compared_ = FrameChecker::Compared::kNot;
  if (mode_ == CopyMode::kCopy && verify_ == VerifyMode::kFull && !defer_check &&
      channel_.supports_inplace()) {
    // Shared memory, checked now: copy out and compare with the pattern in one pass.
    IPCB_TRY(auto src, channel_.peek_recv());
    if (src.size() > rx_buf_.size()) {
      return plain_error("recv",
                         "message of " + std::to_string(src.size()) + " bytes exceeds the buffer");
    }
    size_t n = src.size();
    if (n == rx_buf_.size()) {
      std::memcpy(rx_buf_.data(), src.data(), sizeof(FrameHeader));
      bool same = source_.copy_matching(rx_buf_.data() + sizeof(FrameHeader),
                                        src.data() + sizeof(FrameHeader), checker_.next_seq());
      compared_ = same ? FrameChecker::Compared::kMatched : FrameChecker::Compared::kDiffered;
    } else {
      std::memcpy(rx_buf_.data(), src.data(), n);  // the wrong length: check() names it
    }
    channel_.release_recv();
    msg = std::span<const std::byte>(rx_buf_).first(n);
  } else if (mode_ == CopyMode::kCopy) {
    IPCB_TRY(size_t n, channel_.recv(rx_buf_));  // the copy out reads every byte
    msg = std::span<const std::byte>(rx_buf_).first(n);
  } else {
    IPCB_TRY(msg, channel_.peek_recv());
    held_ = msg;
  }
  bytes_received_ += msg.size();
  last_msg_ = msg;
  if (defer_check) {
    // Only what deciding needs now: the length and the flags (no counting, no payload pass).
    FrameFault shape = checker_.check_shape(msg);
    if (shape != FrameFault::kNone) {
      last_fault_ = checker_.check(msg);  // counted, and named
      return plain_error("corrupt frame received", checker_.last_error());
    }
    pending_ = true;
    last_fault_ = FrameFault::kNone;
    return read_header(msg);
  }
  IPCB_TRY_STATUS(check_last());
  return read_header(msg);
}

Status Endpoint::finish_check() {
  if (!pending_) return ok_status();
  pending_ = false;
  Status st = check_last();
  release_held();
  return st;
}

Status Endpoint::check_last() {
  // In place with no payload check, nothing else reads the payload: read it here, so every
  // mode and verify level touches every byte the sender wrote.
  if (mode_ == CopyMode::kInplace && verify_ != VerifyMode::kFull) sink_ += touch_all(last_msg_);
  last_fault_ = checker_.check(last_msg_, compared_);
  compared_ = FrameChecker::Compared::kNot;
  // A frame the protocol cannot act on ends the run now, naming the field; waiting for the
  // answer it will never get would only be reported later as a stall.
  if (is_protocol_fault(last_fault_)) {
    return plain_error("corrupt frame received", checker_.last_error());
  }
  return ok_status();
}

}  // namespace ipcb
