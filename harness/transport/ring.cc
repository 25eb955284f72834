// Implementation of the SPSC byte ring (see ring.h for the layout and trust rules).
#include "harness/transport/ring.h"

#include <cstring>
#include <string>

namespace ipcb {

size_t Ring::capacity_for(size_t len, size_t records) {
  size_t need = record_bytes(len) * (records < 2 ? 2 : records);
  size_t cap = 4096;
  while (cap < need) cap <<= 1;
  return cap;
}

Ring::Ring(RingControl* control, std::byte* data, size_t capacity, size_t max_message)
    : control_(control),
      data_(data),
      capacity_(capacity),
      mask_(capacity - 1),
      max_message_(max_message) {
  head_ = 0;
  tail_ = 0;
}

Error Ring::corrupt(const char* what, uint64_t value) const {
  return plain_error("ring", std::string("corrupt shared state: ") + what + " = " +
                                 std::to_string(value) + " is out of bounds (capacity " +
                                 std::to_string(capacity_) + ", max message " +
                                 std::to_string(max_message_) + ")");
}

bool Ring::refresh_tail() {
  uint64_t t = control_->tail.load(std::memory_order_acquire);
  // The consumer's tail must lie between the last tail we saw and our head.
  if (t - cached_tail_ > head_ - cached_tail_) {
    corrupt_ = true;
    bad_value_ = t;
    return false;
  }
  cached_tail_ = t;
  return true;
}

bool Ring::refresh_head() {
  uint64_t h = control_->head.load(std::memory_order_acquire);
  // The producer's head may not move backwards nor run more than a capacity ahead of us.
  if (h - tail_ > capacity_ || h - cached_head_ > h - tail_) {
    corrupt_ = true;
    bad_value_ = h;
    return false;
  }
  cached_head_ = h;
  return true;
}

bool Ring::writable(size_t len) {
  size_t rec = record_bytes(len);
  size_t to_end = capacity_ - (head_ & mask_);
  size_t need = rec <= to_end ? rec : to_end + rec;
  if (capacity_ - (head_ - cached_tail_) >= need) return true;
  if (!refresh_tail()) return true;  // let try_reserve report the corruption
  return capacity_ - (head_ - cached_tail_) >= need;
}

Result<std::optional<std::span<std::byte>>> Ring::try_reserve(size_t len) {
  if (len > max_message_) {
    return plain_error("ring", "message of " + std::to_string(len) + " bytes exceeds the ring's " +
                                   std::to_string(max_message_));
  }
  if (!writable(len) || corrupt_) {
    if (corrupt_) return corrupt("tail", bad_value_);
    return std::optional<std::span<std::byte>>{};
  }
  size_t rec = record_bytes(len);
  size_t idx = head_ & mask_;
  if (rec > capacity_ - idx) {
    uint32_t marker = kWrapMarker;
    std::memcpy(data_ + idx, &marker, sizeof marker);
    head_ += capacity_ - idx;  // published together with the record at commit()
    idx = 0;
  }
  uint32_t len32 = static_cast<uint32_t>(len);
  std::memcpy(data_ + idx, &len32, sizeof len32);
  pending_ = rec;
  return std::optional<std::span<std::byte>>(std::span(data_ + idx + kRecordHeader, len));
}

void Ring::commit() {
  head_ += pending_;
  pending_ = 0;
  control_->head.store(head_, std::memory_order_release);
}

bool Ring::readable() {
  if (corrupt_) return true;
  if (cached_head_ != tail_) return true;
  if (!refresh_head()) return true;
  return cached_head_ != tail_;
}

Result<std::optional<std::span<const std::byte>>> Ring::try_peek() {
  for (;;) {
    if (!readable()) return std::optional<std::span<const std::byte>>{};
    if (corrupt_) return corrupt("head", bad_value_);
    size_t idx = tail_ & mask_;
    size_t avail = cached_head_ - tail_;
    uint32_t len = 0;
    std::memcpy(&len, data_ + idx, sizeof len);  // read once: the peer may change it later
    if (len == kWrapMarker) {
      size_t skip = capacity_ - idx;
      if (skip > avail) return corrupt("wrap marker span", skip);
      tail_ += skip;
      continue;
    }
    size_t rec = record_bytes(len);
    if (len > max_message_ || rec > avail || rec > capacity_ - idx) {
      return corrupt("record length", len);
    }
    peeked_ = rec;
    return std::optional<std::span<const std::byte>>(
        std::span<const std::byte>(data_ + idx + kRecordHeader, len));
  }
}

void Ring::release() {
  tail_ += peeked_;
  peeked_ = 0;
  control_->tail.store(tail_, std::memory_order_release);
}

}  // namespace ipcb
