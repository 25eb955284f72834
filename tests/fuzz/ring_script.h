// What the ring fuzz targets share: the data region the honest sides and the attacker share,
// and (for the single-consumer rings, ring_fuzz.cc and slot_ring_fuzz.cc) the record of what the
// honest producer and consumer did, with the checks of what the consumer gets against it while
// the attacker has done nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <deque>
#include <new>
#include <optional>
#include <span>
#include <vector>

#include "tests/fuzz/fuzz_input.h"

namespace ipcb::fuzz {

constexpr int kMaxSteps = 4096;  // bounds the work of one input whatever its length

// Runs a script: each step the input's next byte picks one of `ops` (one listed twice is picked
// twice as often), until kMaxSteps or the end of the input.
template <typename Script, size_t N>
void run_steps(Input& in, Script& script, void (Script::*const (&ops)[N])()) {
  for (int step = 0; step < kMaxSteps && !in.empty(); ++step) (script.*ops[in.u8() % N])();
}

// Exactly size() zeroed heap bytes aligned to `align`, so ASan's redzone sits right after the
// last one (a region of 0 bytes still gets one byte, so that its address is a real one).
class Region {
 public:
  explicit Region(size_t size, size_t align = alignof(std::max_align_t))
      : size_(size),
        align_(align),
        data_(static_cast<std::byte*>(::operator new[](allocated(), std::align_val_t{align}))) {
    std::memset(data_, 0, allocated());
  }
  ~Region() { ::operator delete[](data_, std::align_val_t{align_}); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  // Whether a span the code under test returned lies inside the region.
  bool holds(std::span<const std::byte> s) const {
    return inside(s.data(), s.size(), data_, size_);
  }
  // The attacker writes up to 16 bytes of the input at `offset` (cut at the region's end).
  void scribble(Input& in, size_t offset) {
    auto src = in.bytes(in.u8() % 16 + 1);
    std::memcpy(data_ + offset, src.data(), std::min(src.size(), size_ - offset));
  }

 private:
  size_t allocated() const { return size_ == 0 ? 1 : size_; }
  size_t size_;
  size_t align_;
  std::byte* data_;
};

// A script's honest sides. The producer reserves a slot, fills it from the input and commits it;
// the consumer peeks a record and releases it. Until the attacker moves (tampered_), the consumer
// must get exactly the committed messages, in order.
class HonestSides {
 protected:
  // The producer got `slot` (`size` bytes expected, `in_region` whether it lies in the data):
  // it writes a message from the input there, to be committed.
  void reserved(Input& in, std::span<std::byte> slot, size_t size, bool in_region) {
    FUZZ_CHECK(slot.size() == size);
    FUZZ_CHECK(in_region);
    fill(in, slot);
    reserved_ = std::vector<std::byte>(slot.begin(), slot.end());
  }

  // The producer's contract: commit (the ring's call) only a reserved slot.
  template <typename Commit>
  void commit(Commit&& ring_commit) {
    if (!reserved_) return;
    ring_commit();
    committed_.push_back(std::move(*reserved_));
    reserved_.reset();
  }

  // The consumer got `rec`: every byte is read (for ASan), and while nothing is tampered with it
  // is the oldest committed message.
  void peeked(std::span<const std::byte> rec, bool in_region) {
    FUZZ_CHECK(in_region);
    (void)read_all(rec);
    if (!tampered_) {
      FUZZ_CHECK(!committed_.empty());
      FUZZ_CHECK(
          std::equal(rec.begin(), rec.end(), committed_.front().begin(), committed_.front().end()));
    }
    peeked_ = rec;
  }

  // The consumer's contract: release (the ring's call) only a peeked record. Returns whether the
  // released record was an honest message.
  template <typename Release>
  bool release(Release&& ring_release) {
    if (!peeked_) return false;
    ring_release();
    const bool honest = !tampered_;
    if (honest) committed_.pop_front();
    peeked_.reset();
    return honest;
  }

  bool tampered_ = false;
  std::optional<std::vector<std::byte>> reserved_;
  std::optional<std::span<const std::byte>> peeked_;
  std::deque<std::vector<std::byte>> committed_;  // what the consumer must get, while honest
};

}  // namespace ipcb::fuzz
