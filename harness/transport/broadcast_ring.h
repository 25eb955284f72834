// A one-producer, N-reader ring of fixed-size slots in shared memory: one write reaches every
// reader (fanout over shared memory). The producer publishes `head` (messages written); reader
// i publishes `tail[i]` (messages it consumed); a slot is reused once every reader passed it.
// Each side trusts only its own position: every position read from shared memory is checked
// (a tail ahead of the head, or a head more than `slots` ahead of a tail, is corruption).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "harness/sys/error.h"
#include "harness/transport/ring.h"

namespace ipcb {

struct alignas(kCacheLine) BroadcastPosition {
  std::atomic<uint64_t> value;
};
static_assert(sizeof(BroadcastPosition) == kCacheLine, "each position fills one cache line");

class BroadcastRing {
 public:
  // Slot size for messages of `message_bytes` (a multiple of the cache line).
  static size_t slot_bytes_for(size_t message_bytes);
  // `head` and `tails[readers]` live in shared memory, zeroed by the creator; `data` holds
  // `slots` slots of slot_bytes_for(message_bytes).
  BroadcastRing(BroadcastPosition* head, BroadcastPosition* tails, size_t readers, std::byte* data,
                size_t slots, size_t message_bytes);

  // --- producer ---
  // The next slot (message_bytes long), or nullopt while the slowest reader still needs it.
  Result<std::optional<std::span<std::byte>>> try_reserve();
  void commit();
  bool writable();  // for waiters; true also when a tail is corrupt (try_reserve reports it)

  // --- a reader (release names which one, to publish its position) ---
  Result<std::optional<std::span<const std::byte>>> try_peek();
  void release(size_t r);
  bool readable();

 private:
  std::byte* slot(uint64_t n) const { return data_ + (n % slots_) * slot_bytes_; }
  Error corrupt(const char* what, uint64_t value) const;
  // Producer: the smallest tail, or nullopt if a tail is out of bounds.
  std::optional<uint64_t> min_tail() const;

  BroadcastPosition* head_pos_;
  BroadcastPosition* tails_;
  size_t readers_;
  std::byte* data_;
  size_t slots_;
  size_t slot_bytes_;
  size_t message_bytes_;
  uint64_t head_ = 0;         // producer: messages written (local, trusted)
  uint64_t cached_min_ = 0;   // producer: the slowest reader's tail when last looked
  uint64_t tail_ = 0;         // reader: messages consumed (local, trusted)
  uint64_t cached_head_ = 0;  // reader: the head when last looked
};

}  // namespace ipcb
