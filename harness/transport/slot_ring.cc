// The slot ring (see slot_ring.h for the layout and trust rules).
#include "harness/transport/slot_ring.h"

#include <algorithm>
#include <string>

namespace ipcb {
namespace {

size_t pow2_at_least(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

size_t SlotRing::slots_for(size_t message_bytes, bool deep) {
  const size_t slot = slot_bytes_for(message_bytes);
  if (deep) {
    const size_t wanted = std::min(std::max(kDeepBytes / slot, kDeepSlots), kDeepMaxBytes / slot);
    return pow2_at_least(std::max<size_t>(4, wanted));
  }
  return pow2_at_least(std::max<size_t>(2, std::min<size_t>(64, (size_t{256} << 10) / slot)));
}

SlotRing::SlotRing(SlotCredit* credit, std::byte* data, size_t slots, size_t message_bytes)
    : credit_(credit),
      data_(data),
      slots_(slots),
      mask_(slots - 1),
      slot_bytes_(slot_bytes_for(message_bytes)),
      message_bytes_(message_bytes),
      stamp_off_(stamp_offset_for(message_bytes)),
      message_off_(message_offset_for(message_bytes)),
      half_(std::max<size_t>(1, slots / 2)) {}

Error SlotRing::corrupt(const char* what, uint64_t value, uint64_t expected) const {
  return plain_error("ring", std::string("corrupt shared state: ") + what + " = " +
                                 std::to_string(value) + ", expected " + std::to_string(expected) +
                                 " (" + std::to_string(slots_) + " slots of " +
                                 std::to_string(slot_bytes_) + " bytes)");
}

bool SlotRing::refresh_credit() {
  uint64_t c = credit_->released.load(std::memory_order_acquire);
  // The consumer can only give back what was produced, and never takes a slot back.
  if (c > head_ || c < cached_credit_) {
    credit_corrupt_ = true;
    bad_credit_ = c;
    return false;
  }
  cached_credit_ = c;
  return true;
}

bool SlotRing::writable() {
  if (credit_corrupt_) return true;
  if (head_ - cached_credit_ < slots_) return true;
  if (!refresh_credit()) return true;  // let try_reserve report it
  return head_ - cached_credit_ < slots_;
}

Result<std::optional<std::span<std::byte>>> SlotRing::try_reserve() {
  if (!writable() || credit_corrupt_) {
    if (credit_corrupt_) return corrupt("credit", bad_credit_, cached_credit_);
    return std::optional<std::span<std::byte>>{};
  }
  std::byte* slot = data_ + (head_ & mask_) * slot_bytes_;
  return std::optional<std::span<std::byte>>(std::span(slot + message_off_, message_bytes_));
}

Result<std::optional<std::span<const std::byte>>> SlotRing::try_peek() {
  const uint64_t s = stamp(tail_).load(std::memory_order_acquire);
  if (s != tail_ + 1) {
    if (s == not_yet(tail_)) return std::optional<std::span<const std::byte>>{};
    return corrupt("slot stamp", s, tail_ + 1);
  }
  const std::byte* slot = data_ + (tail_ & mask_) * slot_bytes_;
  return std::optional<std::span<const std::byte>>(
      std::span<const std::byte>(slot + message_off_, message_bytes_));
}

}  // namespace ipcb
