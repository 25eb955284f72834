// Endpoint (see endpoint.h): the general paths; the fast path is inline in the header.
#include "harness/transport/endpoint.h"

#include <cstring>
#include <string>

#include "harness/sys/sys.h"
#include "harness/sys/sys_sync.h"

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
      rx_buf_(mode == CopyMode::kCopy ? sizeof(FrameHeader) + payload_bytes : 0) {
  // The fast path writes and reads whole messages of this size straight in the slots.
  const size_t message = sizeof(FrameHeader) + payload_bytes;
  PollingRings r = channel.polling_rings();
  if (r.tx != nullptr && r.rx != nullptr && r.tx->message_bytes() == message &&
      r.rx->message_bytes() == message) {
    rings_ = r;
  }
}

Status Endpoint::put_general(const FrameHeader& h, std::span<const std::byte> payload,
                             size_t build) {
  if (mode_ == CopyMode::kCopy) {
    IPCB_TRY_STATUS(channel_.send(h, payload));
  } else {
    IPCB_TRY(auto slot, channel_.reserve_send());
    write_header(slot.data(), h);
    fill(slot.data() + sizeof h, payload, build);
    channel_.commit_send();
  }
  bytes_sent_ += sizeof h + payload.size();
  return ok_status();
}

Endpoint::BatchWait Endpoint::await_batch() {
  const SlotRing& rx = *rings_.rx;
  const uint64_t batch = rx.batch_messages(), stall_ns = rx.batch_stall_ns();
  // The batch's last stamp first: a producer that is a batch ahead wrote all before it (in
  // order), so a consumer that is behind looks at one line per batch, not one per message, and
  // reads no clock.
  if (rx.written_ahead(batch - 1)) {
    seen_written_ = batch;
    return BatchWait::kBatch;
  }
  const uint64_t start = sys::now_ns();
  uint64_t written = 0;  // messages from the next one on that are written (as far as we looked)
  uint64_t progress_at = start;
  for (;;) {
    const uint64_t before = written;
    if (rx.written_ahead(batch - 1)) written = batch;
    while (written < batch && rx.written_ahead(written)) ++written;
    seen_written_ = written;
    if (written == batch) return BatchWait::kBatch;
    const uint64_t now = sys::now_ns();
    if (written != before) progress_at = now;
    if (now - progress_at >= stall_ns) return BatchWait::kStalled;
    if (now - start >= SlotRing::kBatchTimeoutNs) return BatchWait::kTimedOut;
    sys::yield_cpu();
  }
}

Error Endpoint::echo_length_error() {
  return plain_error("echo", "the received message has the wrong length");
}

Result<FrameHeader> Endpoint::recv_general(bool defer_check) {
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
  if (defer_check) return judge(true);
  IPCB_TRY_STATUS(check_last());
  return read_header(last_msg_);
}

Status Endpoint::recv_rest(Fast f) {
  if (f == Fast::kDone) return ok_status();
  if (f == Fast::kJudge) {
    IPCB_TRY_STATUS(judge(/*defer_check=*/false));
  } else {
    IPCB_TRY_STATUS(recv());
  }
  return ok_status();
}

Result<FrameHeader> Endpoint::echo_received(Result<FrameHeader> received) {
  if (received && (received->flags & kFrameData) != 0) IPCB_TRY_STATUS(echo(*received));
  return received;
}

Result<FrameHeader> Endpoint::judge(bool defer_check) {
  if (defer_check) {
    // Only what deciding needs now: the length and the flags (no counting, no payload pass).
    FrameFault shape = checker_.check_shape(last_msg_);
    if (shape != FrameFault::kNone) {
      last_fault_ = checker_.check(last_msg_);  // counted, and named
      return plain_error("corrupt frame received", checker_.last_error());
    }
    pending_ = true;
    last_fault_ = FrameFault::kNone;
    return read_header(last_msg_);
  }
  // The fast path's inline check did not pass (its payload was already read): judge it in full.
  IPCB_TRY_STATUS(judge_checked());
  return read_header(last_msg_);
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
  if (checker_.check_data_fast(last_msg_, compared_)) {
    last_fault_ = FrameFault::kNone;
    compared_ = FrameChecker::Compared::kNot;
    return ok_status();
  }
  return judge_checked();
}

Status Endpoint::judge_checked() {
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
