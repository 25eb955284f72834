// A single-producer/single-consumer byte ring laid out in shared memory.
//
// The producer owns `head`, the consumer owns `tail`; both are byte positions that only grow
// (index = position mod capacity). Each side keeps its own position locally and only *reads*
// the other's, caching it and re-reading only when the cached value says full or empty.
// Records are [u32 length][u32 reserved][payload], padded to 8 bytes and never split: when a
// record does not fit before the end, the producer writes a wrap marker and starts at 0, so
// a record can be read or written in place.
//
// Everything read from shared memory is untrusted: the peer's position and every record length
// are bounds-checked against the local (trusted) capacity and message limit, and a violation
// makes the ring fail with an Error, never an out-of-bounds access.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "harness/sys/error.h"

namespace ipcb {

inline constexpr size_t kCacheLine = 64;

// The two positions, each alone on its cache line so producer and consumer do not false-share.
struct RingControl {
  alignas(kCacheLine) std::atomic<uint64_t> head;  // written by the producer only
  alignas(kCacheLine) std::atomic<uint64_t> tail;  // written by the consumer only
};
static_assert(sizeof(RingControl) == 2 * kCacheLine, "head and tail must each fill one line");
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "positions are shared between processes: they must be lock-free atomics");

class Ring {
 public:
  static constexpr size_t kRecordHeader = 8;
  static constexpr uint32_t kWrapMarker = 0xFFFFFFFFu;

  // Bytes one record of `len` payload bytes occupies.
  static constexpr size_t record_bytes(size_t len) {
    return (kRecordHeader + len + 7) & ~size_t{7};
  }
  // The smallest power-of-two capacity that holds at least `records` records of `len` bytes
  // (and at least 4 KiB), so a record never waits for a wrap marker to drain.
  static size_t capacity_for(size_t len, size_t records);

  // `capacity` must be a power of two >= 2 * record_bytes(max_message). The caller zeroes the
  // control block once (the creator) before either side uses it.
  Ring(RingControl* control, std::byte* data, size_t capacity, size_t max_message);

  // --- producer ---
  // A slot of exactly `len` bytes to fill, or nullopt when the ring lacks space now.
  Result<std::optional<std::span<std::byte>>> try_reserve(size_t len);
  // Publishes the slot returned by the last try_reserve.
  void commit();
  // True when a record of `len` bytes would fit (refreshes the cached tail). For waiters.
  bool writable(size_t len);

  // --- consumer ---
  // The oldest record, or nullopt when empty. The span stays valid until release().
  Result<std::optional<std::span<const std::byte>>> try_peek();
  // Frees the record returned by the last try_peek.
  void release();
  // True when a record is available or the ring is corrupt (refreshes the cached head).
  bool readable();

  size_t capacity() const { return capacity_; }
  size_t max_message() const { return max_message_; }

 private:
  Error corrupt(const char* what, uint64_t value) const;
  bool refresh_tail();  // false if the peer's tail is out of bounds
  bool refresh_head();  // false if the peer's head is out of bounds

  RingControl* control_;
  std::byte* data_;
  size_t capacity_;
  size_t mask_;
  size_t max_message_;
  // Producer state (local, trusted).
  uint64_t head_ = 0;
  uint64_t cached_tail_ = 0;
  size_t pending_ = 0;  // bytes of the reserved record
  // Consumer state (local, trusted).
  uint64_t tail_ = 0;
  uint64_t cached_head_ = 0;
  size_t peeked_ = 0;
  bool corrupt_ = false;
  uint64_t bad_value_ = 0;
};

}  // namespace ipcb
