// One side's view of a channel during a workload: numbers and frames outgoing messages,
// receives and checks incoming ones. Used identically by the measured side and the peer.
#pragma once

#include <cstring>
#include <vector>

#include "harness/transport/channel.h"
#include "harness/transport/frame.h"
#include "harness/transport/slot_ring.h"

namespace ipcb {

// How payload bytes move through a shared-memory channel. In both modes the sender writes every
// payload byte and the receiver reads every payload byte; they differ in the copies.
enum class CopyMode {
  kCopy,     // the sender's message is copied into the ring, the receiver copies it out
  kInplace,  // the sender builds the message in the ring slot, the receiver checks it there
};
const char* copy_mode_name(CopyMode m);
Result<CopyMode> parse_copy_mode(const std::string& s);

// On a shared-memory channel whose waiters poll, send and the receives (recv, recv_fast, recv_echo,
// recv_batched and recv_batched_fast) take an inline fast path straight on the rings
// (Channel::polling_rings): no virtual call, no wait loop, no Result between "the message arrived"
// and "the reply is published". Anything it cannot do at once (a full ring, a message that does not
// come within a short poll, a corrupt stamp or credit, a frame that fails its check) goes the
// general way, which waits, judges and names the fault.
class Endpoint {
 public:
  Endpoint(Channel& channel, size_t payload_bytes, VerifyMode verify, CopyMode mode);

  // What a receive's fast path did (recv_fast, recv_batched_fast): took the next message and it
  // passed the checks of the verify level (kDone); took none (kWait: none came, or a deferred
  // check was pending and nothing was done); took one that failed an inline check (kJudge: the
  // general way judges it and names the fault).
  enum class Fast { kDone, kWait, kJudge };

  // Sends the next message: sequence number, `flags`, `send_ns`, and the payload for that seq.
  // In place, the payload is built in the slot (PayloadSource::write_at), not copied into it.
  Status send(uint32_t flags, uint64_t send_ns = 0) {
    const size_t v = tx_variant_;
    const FrameHeader h{next_tx_seq(), static_cast<uint32_t>(source_.size()), flags, send_ns,
                        source_.checksum_at(v)};
    return put(h, source_.payload_at(v), mode_ == CopyMode::kInplace ? v : kCopyIn);
  }
  // Sends the last received payload back, unchanged, as our next message (pingpong's echo).
  Status echo(const FrameHeader& received) {
    FrameHeader h = received;
    h.seq = next_tx_seq();
    h.flags = kFrameData;
    auto msg = mode_ == CopyMode::kCopy ? std::span<const std::byte>(rx_buf_) : held_;
    if (msg.size() != sizeof(FrameHeader) + source_.size()) return echo_length_error();
    auto st = put(h, msg.subspan(sizeof(FrameHeader)), kCopyIn);
    if (!pending_) release_held();  // a deferred check still reads it (finish_check releases)
    return st;
  }
  // Receives one message and checks it. A payload fault is counted (last_fault()); a frame the
  // protocol cannot act on (length, flags, sequence) is an Error naming the field. With
  // `defer_check`, only the length and flags are checked now and the rest at finish_check()
  // (or the next recv): an echo can go out before the payload pass (pingpong's peer).
  Result<FrameHeader> recv(bool defer_check = false) {
    if (pending_) IPCB_TRY_STATUS(finish_check());
    release_held();
    return recv_next(defer_check);
  }
  // recv() for a stream's consumer. On a spinning ring it reads in batches: once it has read every
  // message it saw written, it lets the producer get a batch ahead (SlotRing::batch_messages)
  // before it reads on, unless the producer stops (await_batch), then reads what it saw written
  // without waiting. Reading right behind the producer, a consumer pulls each line from the
  // producer's cache while it is being written and runs several times slower than one that reads
  // lines written a batch ago; which of the two a stream fell into was luck. Waiting only when the
  // next message was not there let it read on right behind the producer once it had caught up: a
  // 4 KiB stream ran 1-5% slower than with this rule, which is also the ring ceiling's (floors.cc).
  // The wait is queueing delay in the stream's latency.
  Result<FrameHeader> recv_batched() {
    if (pending_) IPCB_TRY_STATUS(finish_check());
    FrameHeader h;
    const Fast f = take_batched(h);
    if (f == Fast::kDone) return h;
    return recv_batched_rest(f);
  }
  // recv_batched in two parts, as recv_fast (a stream's sink, per message): kDone when the next
  // message was there, or came, and passed its checks (`h` is its header); anything else goes on
  // with recv_batched_rest(), which waits, judges and names the fault. After kDone there is
  // nothing to go on with: recv_batched_rest(kDone) is an Error, not a second receive.
  Fast recv_batched_fast(FrameHeader& h) { return pending_ ? Fast::kWait : take_batched(h); }
  Result<FrameHeader> recv_batched_rest(Fast f) {
    if (f == Fast::kDone) return plain_error("recv_batched_rest", "the fast path took the message");
    if (f == Fast::kJudge) return judge(/*defer_check=*/false);
    if (pending_) return recv_batched();  // recv_batched_fast did nothing
    return recv_general(/*defer_check=*/false);
  }
  // How the last recv_batched's (or recv_batched_fast's) wait ended: it did not wait (it had not
  // yet read every message its last wait saw written, or the ring does not spin), the batch came,
  // the producer stopped writing, or the timeout passed.
  enum class BatchWait { kNone, kBatch, kStalled, kTimedOut };
  BatchWait last_batch_wait() const { return last_batch_wait_; }
  // recv() for a caller that needs no header back and checks now (pingpong's measured side),
  // in two parts: recv_fast() is the fast path, inline and without a Result; anything but
  // kDone (the next message was there, or came within the short poll, and passed its checks)
  // goes on with recv_rest(), which waits, judges and names the fault.
  Fast recv_fast() {
    if (pending_) return Fast::kWait;
    release_held();
    const std::byte* src = poll_fast();
    if (src == nullptr) return Fast::kWait;
    FrameHeader h;
    return take_fast(src, /*defer_check=*/false, h) ? Fast::kDone : Fast::kJudge;
  }
  // recv_fast for a caller that sends before it needs the check (pingpong's measured side):
  // a small payload (PayloadSource::kInlineAtMost at most) is taken as recv_fast takes it (copied
  // out, or read in place: every byte, now), but only its shape is checked now; its order and
  // content are checked at finish_check(), which the caller makes once its next message is on
  // its way. Between the message's arrival and the next send there are then only the copies a
  // receiver makes. Larger payloads are checked now, in the pass that reads them (the copy
  // dominates there, and a second pass over them would cost more than it saves).
  Fast recv_fast_check_later() {
    if (source_.size() > PayloadSource::kInlineAtMost) return recv_fast();
    if (pending_) return Fast::kWait;
    release_held();
    const std::byte* src = poll_fast();
    if (src == nullptr) return Fast::kWait;
    FrameHeader h;
    bool matched = true;
    const std::byte* payload = take(src, /*compare=*/false, matched, h);
    if (mode_ == CopyMode::kInplace) sink_ += fold_small(payload, source_.size());
    return accept_taken(h, /*defer_check=*/true, /*compare=*/false, matched) ? Fast::kDone
                                                                             : Fast::kJudge;
  }
  Status recv_rest(Fast f);
  // pingpong's peer: receives the next message and, when it is data, echoes it at once (its
  // payload unchanged, under our next sequence number); its check follows, in finish_check().
  // Returns the header received: a message that is not data (a sync, the stop) is not
  // answered, the caller acts on it. On the fast path, nothing lies between the message's
  // arrival and the echo's publication but the copies and what an echo needs to know: that
  // the message is data, of the right length.
  Result<FrameHeader> recv_echo() {
    if (pending_) IPCB_TRY_STATUS(finish_check());
    release_held();
    const std::byte* src = poll_fast();
    if (src == nullptr) return echo_received(recv_general(/*defer_check=*/true));
    FrameHeader h;
    bool matched = true;
    const std::byte* payload = take(src, /*compare=*/false, matched, h);
    std::byte* dst = rings_.tx->reserve_now();
    if (h.flags == kFrameData && h.payload_bytes == source_.size() && dst != nullptr) {
      FrameHeader out = h;
      out.seq = next_tx_seq();
      write_header(dst, out);
      copy_bytes(dst + sizeof out, payload, source_.size());
      rings_.tx->commit();  // a polling waiter needs no notify
      bytes_sent_ += sizeof out + source_.size();
      pending_ = true;
      last_fault_ = FrameFault::kNone;
      return h;
    }
    // Not echoed here (not data, or the ring is full): the general way, once it is checked.
    if (accept_taken(h, /*defer_check=*/true, /*compare=*/false, matched)) {
      return echo_received(h);
    }
    return echo_received(judge(/*defer_check=*/true));  // names what is wrong with its shape
  }
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
  // Writes one message (the payload is always size() bytes: send makes it so, echo checks):
  // `payload` copied in, or (`build`, in place) window `build` built in the slot (fill).
  static constexpr size_t kCopyIn = SIZE_MAX;
  Status put(const FrameHeader& h, std::span<const std::byte> payload, size_t build) {
    std::byte* slot = rings_.tx != nullptr ? rings_.tx->reserve_now() : nullptr;
    if (slot == nullptr) return put_general(h, payload, build);
    write_header(slot, h);
    fill(slot + sizeof h, payload, build);
    rings_.tx->commit();  // a polling waiter needs no notify
    bytes_sent_ += sizeof h + payload.size();
    return ok_status();
  }
  void fill(std::byte* dst, std::span<const std::byte> payload, size_t build) const {
    if (build == kCopyIn) {
      copy_bytes(dst, payload.data(), payload.size());
    } else {
      source_.write_at(dst, build);
    }
  }
  // In place: frees the slot of the last received message, if any.
  void release_held() {
    if (held_.empty()) return;
    held_ = {};
    if (rings_.rx != nullptr) {
      rings_.rx->release();  // a polling waiter needs no notify
    } else {
      channel_.release_recv();
    }
  }
  // recv_batched once the last message is checked: releases it, waits for a batch when it has
  // read every message it saw written (see there), then takes the next message on the fast path
  // (kDone, or kJudge when its checks failed), or says it is not there (kWait: the general way
  // takes it).
  Fast take_batched(FrameHeader& h) {
    release_held();
    last_batch_wait_ = BatchWait::kNone;
    if (rings_.spin && seen_written_ == 0) last_batch_wait_ = await_batch();
    const std::byte* src = poll_fast();
    if (src == nullptr) {
      seen_written_ = 0;
      return Fast::kWait;
    }
    if (seen_written_ != 0) --seen_written_;
    return take_fast(src, /*defer_check=*/false, h) ? Fast::kDone : Fast::kJudge;
  }
  // recv() once the last message is checked and released: the next one, fast path or general.
  Result<FrameHeader> recv_next(bool defer_check) {
    const std::byte* src = poll_fast();
    if (src == nullptr) return recv_general(defer_check);
    FrameHeader h;
    if (take_fast(src, defer_check, h)) return h;
    return judge(defer_check);
  }
  // The next message's bytes if the fast path may take it now (see the class comment).
  const std::byte* poll_fast() {
    if (rings_.rx == nullptr) return nullptr;
    return rings_.rx->poll_now(rings_.spin ? kFastPolls : 0);
  }
  // Takes the message at `src` (fast path) as recv_general would, into last_msg_ and `h` (the
  // header is read from shared memory once), and checks it with what is at hand: true when it
  // is in order and intact, or (`defer_check`) of a shape the caller may act on, the rest
  // pending. False: judge() names what is wrong.
  bool take_fast(const std::byte* src, bool defer_check, FrameHeader& h) {
    const bool compare = verify_ == VerifyMode::kFull && !defer_check;
    bool matched = true;  // the payload is the pattern of next_seq(), when compared
    const std::byte* payload = take(src, compare, matched, h);
    if (mode_ == CopyMode::kInplace && !defer_check) {
      // Nothing else reads an in-place payload: the comparison does, or a pass over it.
      const std::span<const std::byte> p(payload, source_.size());
      if (compare) {
        matched = source_.matches_at(p, checker_.next_variant());
      } else {
        sink_ += touch_all(p);
      }
    }
    return accept_taken(h, defer_check, compare, matched);
  }
  // The first part of take_fast: copies the message out into rx_buf_ (copy mode: with
  // `compare`, compared with the pattern of next_seq() in the same pass, the answer in
  // `matched`; the slot is then free) or holds it where it lies (in place); reads its header,
  // once, into `h`. Returns where the payload lies now.
  const std::byte* take(const std::byte* src, bool compare, bool& matched, FrameHeader& h) {
    const size_t n = sizeof(FrameHeader) + source_.size();
    bytes_received_ += n;
    if (mode_ == CopyMode::kInplace) {
      // From a local, not from last_msg_: GCC otherwise read the span back as one 16-byte load
      // from its two 8-byte stores, which cannot be forwarded (a stall on every message).
      const std::span<const std::byte> msg(src, n);
      held_ = msg;
      last_msg_ = msg;
      std::memcpy(&h, src, sizeof h);
      return src + sizeof h;
    }
    matched = source_.copy_message(rx_buf_.data(), src, checker_.next_variant(), compare);
    rings_.rx->release();
    last_msg_ = std::span<const std::byte>(rx_buf_).first(n);
    std::memcpy(&h, rx_buf_.data(), sizeof h);
    return rx_buf_.data() + sizeof h;
  }
  // Reads every byte of a small payload (an in-place receiver's read), inline.
  static uint64_t fold_small(const std::byte* p, size_t n) {
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      acc ^= w;
    }
    for (; i < n; ++i) acc ^= static_cast<uint64_t>(p[i]);
    return acc;
  }
  // The second part: the checks take_fast makes (see there).
  bool accept_taken(const FrameHeader& h, bool defer_check, bool compare, bool matched) {
    if (defer_check ? !checker_.shape_ok(h) : !checker_.accept_data_fast(h, matched)) {
      // judge() reuses the comparison instead of reading the payload again.
      compared_ = !compare  ? FrameChecker::Compared::kNot
                  : matched ? FrameChecker::Compared::kMatched
                            : FrameChecker::Compared::kDiffered;
      return false;
    }
    pending_ = defer_check;
    last_fault_ = FrameFault::kNone;
    return true;
  }
  // The rest of recv_echo when its fast path did not echo: echoes a data message (with the
  // general calls); returns `received`.
  Result<FrameHeader> echo_received(Result<FrameHeader> received);

  // How often the fast path polls a spin channel before it leaves the wait to the waiter (which
  // also watches the abort flag): long enough for a small message's round trip, short enough
  // (well under a millisecond) that an abort is seen at once.
  static constexpr int kFastPolls = 1 << 12;

  // The sequence number of the next message sent (its payload window is then in tx_variant_).
  uint64_t next_tx_seq() {
    if (++tx_variant_ == PayloadSource::kVariants) tx_variant_ = 0;
    return tx_seq_++;
  }

  // recv_batched's wait: until the producer is a batch ahead, stops making progress for
  // SlotRing::batch_stall_ns (it sent a sync or the stop and waits for us) or
  // SlotRing::kBatchTimeoutNs pass; it yields between polls (the producer may share our CPU).
  // Sets seen_written_ to the messages it saw written (a batch, or fewer when it stopped waiting).
  BatchWait await_batch();
  static Error echo_length_error();
  Status put_general(const FrameHeader& h, std::span<const std::byte> payload, size_t build);
  Result<FrameHeader> recv_general(bool defer_check);
  // The rest of recv for the message in last_msg_ when the inline checks did not pass: the
  // deferred shape check, or the full check (which counts and names any fault).
  Result<FrameHeader> judge(bool defer_check);
  // Reads an in-place payload nothing else reads, then checks last_msg_ (inline fast check,
  // else judge_checked).
  Status check_last();
  // The full check of last_msg_: counts and names any fault; a protocol fault is an Error.
  Status judge_checked();

  Channel& channel_;
  PollingRings rings_;  // empty unless the fast path applies
  CopyMode mode_;
  VerifyMode verify_;
  PayloadSource source_;
  FrameChecker checker_;
  LineBytes rx_buf_;
  std::span<const std::byte> held_;      // in place: the last received message, still in the ring
  std::span<const std::byte> last_msg_;  // the last received message (held_ or rx_buf_)
  bool pending_ = false;                 // its check was deferred
  FrameChecker::Compared compared_ = FrameChecker::Compared::kNot;  // by the copy out
  uint64_t tx_seq_ = 0;
  size_t tx_variant_ = 0;  // PayloadSource::variant_of(tx_seq_)
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t sink_ = 0;  // keeps the --verify off read of every byte from being optimised away
  FrameFault last_fault_ = FrameFault::kNone;
  BatchWait last_batch_wait_ = BatchWait::kNone;
  // recv_batched: messages from the next one on that its last wait saw written and it has not read
  // yet (local: a stamp it did not see is still checked when the message is taken). Only the
  // batched receives count it down: a consumer that mixed in the others would skip waits, never a
  // check (no caller does: a stream's sink receives only batched).
  uint64_t seen_written_ = 0;
};

}  // namespace ipcb
