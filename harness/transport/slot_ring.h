// A single-producer/single-consumer ring of fixed-size slots in shared memory, laid out so a
// message costs the receiver as few cache-line transfers as the payload allows.
//
// Every slot is a multiple of 64 bytes on a cache line and holds an 8-byte stamp and the message
// (message_bytes, fixed for the ring). The producer writes the message, then stores the stamp
// (position + 1) with release; the consumer polls the stamp of the slot it will read next: no
// separate head line, no length to fetch. A one-line slot starts with the stamp, so the "ready"
// signal and the message arrive in one transfer; a longer slot ends with it, so a consumer
// waiting close behind the producer polls (and trains its prefetcher on) the one line the
// producer writes last, not the lines it is still writing (stamp first, a 4 KiB stream fell into
// a mode ten times slower whenever the consumer caught up). The consumer returns slots through a
// credit counter (on its own line) that it publishes lazily, once per half ring (at least), so the
// producer rarely reads a line the consumer writes.
//
// Everything read from shared memory is untrusted: a stamp that is neither this lap's (ready)
// nor the previous lap's (not yet written) is corruption, and so is a credit that runs ahead of
// what was produced or goes backwards. A violation is an Error, never an out-of-bounds access.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "harness/sys/cpu_relax.h"
#include "harness/sys/error.h"
#include "harness/transport/ring.h"

namespace ipcb {

struct alignas(kCacheLine) SlotCredit {
  std::atomic<uint64_t> released;  // messages the consumer is done with, written by it alone
};
static_assert(sizeof(SlotCredit) == kCacheLine, "the credit fills its own line");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared between processes");

class SlotRing {
 public:
  static constexpr size_t kStampBytes = 8;
  // Bytes one slot takes for messages of `message_bytes`: stamp + message, rounded up to lines.
  static constexpr size_t slot_bytes_for(size_t message_bytes) {
    return (kStampBytes + message_bytes + kCacheLine - 1) & ~(kCacheLine - 1);
  }
  // A power-of-two slot count. `deep` rings (streams) hold kDeepBytes of slots, or more for
  // at least kDeepSlots slots while that fits in kDeepMaxBytes, and at least 4 slots: 2 MiB up to
  // 16 KiB messages, 128 slots up to 64 KiB, 8 MiB above. Others (one message in flight each
  // way) hold 64 slots or 256 KiB, at least 2.
  // Why no deeper: on a 2-vCPU AMD EPYC guest a 4 KiB stream through an 8 MiB ring ran at one of
  // two steady paces, about 32 and 45 GB/s, the slow one with the ring nearly full; through a
  // 2 MiB ring it ran at the fast one more often (copy: 0.63-0.70 of the ring ceiling against
  // 0.79-0.80, 5 interleaved rounds), not always, and the ring ceiling (floors.cc) ran at the same
  // pace through either. 1 MiB rings were slower at 4 KiB, the ceiling too; from 64 KiB on the
  // depth made no difference we could measure.
  static size_t slots_for(size_t message_bytes, bool deep);
  static constexpr size_t kDeepBytes = size_t{2} << 20;
  static constexpr size_t kDeepSlots = 128;
  static constexpr size_t kDeepMaxBytes = size_t{8} << 20;

  // `credit` (zeroed by the creator) and `data` (slots * slot_bytes_for(message_bytes), zeroed,
  // 64-byte aligned) live in shared memory. `slots` must be a power of two >= 2.
  SlotRing(SlotCredit* credit, std::byte* data, size_t slots, size_t message_bytes);

  // --- producer ---
  // The next slot's message area (message_bytes), or nullopt while the consumer still holds it.
  Result<std::optional<std::span<std::byte>>> try_reserve();
  // Publishes the slot returned by the last try_reserve.
  void commit() {
    stamp(head_).store(head_ + 1, std::memory_order_release);
    ++head_;
  }
  // True when a slot is free (refreshes the cached credit) or the credit is corrupt. For waiters.
  bool writable();
  // The fast path of try_reserve (inline, no Result): the next slot's message area when the
  // cached credit already shows it free; nullptr otherwise (full, the credit needs a refresh, or
  // it is corrupt: try_reserve then says which).
  std::byte* reserve_now() {
    if (head_ - cached_credit_ >= slots_ || credit_corrupt_) return nullptr;
    return data_ + (head_ & mask_) * slot_bytes_ + message_off_;
  }

  // --- consumer ---
  // The next message, or nullopt while it is not written. Valid until release().
  Result<std::optional<std::span<const std::byte>>> try_peek();
  // The fast path of try_peek (inline, no Result): the next message when its stamp says it is
  // written; nullptr otherwise (not yet, or a corrupt stamp: try_peek then says which).
  const std::byte* peek_now() const { return poll_now(0); }
  // peek_now, polling the stamp up to `polls` more times (a cpu_relax() between two): the
  // slot's address is worked out once, so a poll is a load and a compare, and the message's
  // address is at hand the moment its stamp arrives.
  const std::byte* poll_now(int polls) const {
    const size_t slot = (tail_ & mask_) * slot_bytes_;
    const std::atomic_ref<uint64_t> s(*reinterpret_cast<uint64_t*>(data_ + slot + stamp_off_));
    const uint64_t ready = tail_ + 1;
    for (int k = 0; s.load(std::memory_order_acquire) != ready; ++k) {
      if (k == polls) return nullptr;
      cpu_relax();
    }
    return data_ + slot + message_off_;
  }
  // Frees the message of the last try_peek / peek_now. Returns true when it published the
  // credit (the moment a producer waiting for space can go on: notify it then). Lazily, once
  // per half ring: a producer waiting for space has filled the ring, so the consumer, draining
  // it, always reaches the next publication.
  bool release() {
    ++tail_;
    if (tail_ - published_ < half_) return false;
    published_ = tail_;
    credit_->released.store(tail_, std::memory_order_release);
    return true;
  }
  // Whether the message `ahead` after the next one is written (a stream consumer waiting for
  // its producer to get a batch ahead polls this one stamp; a corrupt stamp reads as "not yet",
  // left for try_peek to name when it is reached).
  bool written_ahead(uint64_t ahead) const {
    return stamp(tail_ + ahead).load(std::memory_order_acquire) == tail_ + ahead + 1;
  }
  // How far ahead a stream consumer that has read every message it saw written lets its producer
  // get before it reads on (see Endpoint::recv_batched): a quarter of the ring or kBatchBytes of
  // slots, whichever is less, at least 1 message (the producer can always get that far ahead).
  uint64_t batch_messages() const { return batch_for(slots_, slot_bytes_); }
  static uint64_t batch_for(size_t slots, size_t slot_bytes) {
    return std::max<uint64_t>(1, std::min(slots / 4, kBatchBytes / slot_bytes));
  }
  static constexpr size_t kBatchBytes = size_t{2} << 20;
  static constexpr uint64_t kBatchTimeoutNs = 200'000;  // 2 MiB at 10 GB/s
  // A producer that writes no message for this long has stopped (a sync or the stop sent, it
  // waits for the answer): 20 us, or the time a slot takes at 2 GB/s if longer.
  uint64_t batch_stall_ns() const { return std::max<uint64_t>(kBatchStallMinNs, slot_bytes_ / 2); }
  static constexpr uint64_t kBatchStallMinNs = 20'000;

  // True when the next message is there or its stamp is corrupt. For waiters.
  bool readable() const {
    uint64_t s = stamp(tail_).load(std::memory_order_acquire);
    return s != not_yet(tail_);
  }

  // Where in a slot the message and the stamp lie: a one-line slot holds the stamp first; a
  // longer one ends with it (the consumer polls the last line, so neither its polls nor the
  // prefetches they train reach the lines the producer is still writing).
  static constexpr size_t stamp_offset_for(size_t message_bytes) {
    return slot_bytes_for(message_bytes) == kCacheLine
               ? 0
               : slot_bytes_for(message_bytes) - kStampBytes;
  }
  static constexpr size_t message_offset_for(size_t message_bytes) {
    return slot_bytes_for(message_bytes) == kCacheLine ? kStampBytes : 0;
  }

  size_t slots() const { return slots_; }
  size_t message_bytes() const { return message_bytes_; }
  size_t slot_bytes() const { return slot_bytes_; }

 private:
  std::atomic_ref<uint64_t> stamp(uint64_t pos) const {
    return std::atomic_ref<uint64_t>(
        *reinterpret_cast<uint64_t*>(data_ + (pos & mask_) * slot_bytes_ + stamp_off_));
  }
  // What a slot's stamp holds before position `pos` is written: the previous lap's (0 at first).
  uint64_t not_yet(uint64_t pos) const { return pos < slots_ ? 0 : pos + 1 - slots_; }
  Error corrupt(const char* what, uint64_t value, uint64_t expected) const;
  bool refresh_credit();  // false if the consumer's credit is out of bounds

  SlotCredit* credit_;
  std::byte* data_;
  size_t slots_;
  size_t mask_;
  size_t slot_bytes_;
  size_t message_bytes_;
  size_t stamp_off_;
  size_t message_off_;
  uint64_t half_;  // credits are published every half ring (at least every message)
  // Producer state (local, trusted).
  uint64_t head_ = 0;
  uint64_t cached_credit_ = 0;
  bool credit_corrupt_ = false;
  uint64_t bad_credit_ = 0;
  // Consumer state (local, trusted).
  uint64_t tail_ = 0;
  uint64_t published_ = 0;
};

}  // namespace ipcb
