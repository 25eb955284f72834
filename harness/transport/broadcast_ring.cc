// BroadcastRing (see broadcast_ring.h).
#include "harness/transport/broadcast_ring.h"

#include <string>

namespace ipcb {

size_t BroadcastRing::slot_bytes_for(size_t message_bytes) {
  return (message_bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
}

BroadcastRing::BroadcastRing(BroadcastPosition* head, BroadcastPosition* tails, size_t readers,
                             std::byte* data, size_t slots, size_t message_bytes)
    : head_pos_(head),
      tails_(tails),
      readers_(readers),
      data_(data),
      slots_(slots),
      slot_bytes_(slot_bytes_for(message_bytes)),
      message_bytes_(message_bytes) {}

Error BroadcastRing::corrupt(const char* what, uint64_t value) const {
  return plain_error("broadcast ring", std::string("corrupt ") + what + " " +
                                           std::to_string(value) +
                                           " (a peer wrote outside the protocol)");
}

std::optional<uint64_t> BroadcastRing::min_tail() const {
  uint64_t lowest = head_;
  for (size_t r = 0; r < readers_; ++r) {
    uint64_t t = tails_[r].value.load(std::memory_order_acquire);
    if (t > head_ || head_ - t > slots_) return std::nullopt;
    if (t < lowest) lowest = t;
  }
  return lowest;
}

Result<std::optional<std::span<std::byte>>> BroadcastRing::try_reserve() {
  if (head_ - cached_min_ >= slots_) {
    auto m = min_tail();
    if (!m) return corrupt("reader position", 0);
    cached_min_ = *m;
    if (head_ - cached_min_ >= slots_) return std::optional<std::span<std::byte>>();
  }
  return std::optional<std::span<std::byte>>(std::span<std::byte>(slot(head_), message_bytes_));
}

void BroadcastRing::commit() {
  ++head_;
  head_pos_->value.store(head_, std::memory_order_release);
}

bool BroadcastRing::writable() {
  auto m = min_tail();
  return !m || head_ - *m < slots_;
}

Result<std::optional<std::span<const std::byte>>> BroadcastRing::try_peek() {
  if (cached_head_ == tail_) {
    uint64_t h = head_pos_->value.load(std::memory_order_acquire);
    if (h < tail_ || h - tail_ > slots_) return corrupt("head", h);
    cached_head_ = h;
    if (cached_head_ == tail_) return std::optional<std::span<const std::byte>>();
  }
  return std::optional<std::span<const std::byte>>(
      std::span<const std::byte>(slot(tail_), message_bytes_));
}

void BroadcastRing::release(size_t r) {
  ++tail_;
  tails_[r].value.store(tail_, std::memory_order_release);
}

bool BroadcastRing::readable() {
  uint64_t h = head_pos_->value.load(std::memory_order_acquire);
  return h != tail_;  // also true when corrupt: try_peek reports it
}

}  // namespace ipcb
