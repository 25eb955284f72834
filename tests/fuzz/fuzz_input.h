// What the shared-memory fuzz targets share: the fuzzer's bytes read as a script of operations,
// and a check that aborts (a libFuzzer crash, with the input saved) when a property fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

namespace ipcb::fuzz {

// Reads numbers from the input front to back; once it runs out, every read is 0 and empty()
// is true, so a target's loop ends with the input.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t u8() { return empty() ? 0 : data_[pos_++]; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return u16() | (static_cast<uint32_t>(u16()) << 16); }
  uint64_t u64() { return u32() | (static_cast<uint64_t>(u32()) << 32); }
  // Up to `n` of the next bytes (fewer at the end of the input).
  std::span<const uint8_t> bytes(size_t n) {
    size_t left = size_ - pos_;
    size_t take = n < left ? n : left;
    std::span<const uint8_t> out(data_ + pos_, take);
    pos_ += take;
    return out;
  }
  // A position the attacker writes: mostly near `current` (off by a few bytes or about one
  // capacity, where the bounds checks are), sometimes anything at all.
  uint64_t position_near(uint64_t current, uint64_t capacity) {
    switch (u8() % 4) {
      case 0:
        return u64();
      case 1:
        return current + capacity + static_cast<int8_t>(u8());
      default:
        return current + static_cast<int8_t>(u8());
    }
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Fills `out` from the input (zeros once it runs out), as the honest side writes a message.
inline void fill(Input& in, std::span<std::byte> out) {
  auto src = in.bytes(out.size());
  if (!src.empty()) std::memcpy(out.data(), src.data(), src.size());
  if (src.size() < out.size()) std::memset(out.data() + src.size(), 0, out.size() - src.size());
}

// Reads every byte of a span the code under test returned, so ASan sees an access to each.
inline uint64_t read_all(std::span<const std::byte> s) {
  uint64_t acc = 0;
  for (std::byte b : s) acc = acc * 31 + static_cast<uint8_t>(b);
  return acc;
}

// True when [s, s + n) lies inside [base, base + size).
inline bool inside(const std::byte* s, size_t n, const std::byte* base, size_t size) {
  return s >= base && n <= size && static_cast<size_t>(s - base) <= size - n;
}

// IPCB_FUZZ_SELFTEST=1 plants a bug in the set-up (the ring's data region is 8 bytes shorter
// than the ring is told), so a run proves that the fuzzer reaches the end of a ring and that
// ASan reports the access: run_fuzz.sh --selftest expects that report.
inline bool selftest() {
  static const bool on = std::getenv("IPCB_FUZZ_SELFTEST") != nullptr;
  return on;
}

[[noreturn]] inline void violated(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz property violated at %s:%d: %s\n", file, line, what);
  std::abort();
}

}  // namespace ipcb::fuzz

// A property of the code under test; a failure is a crash that libFuzzer saves as an input.
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::ipcb::fuzz::violated(#cond, __FILE__, __LINE__))

namespace ipcb::fuzz {
// The targets, one per structure (shm_fuzz.cc picks one by the input's first byte).
void ring(Input& in);
void broadcast_ring(Input& in);
void frame(Input& in);
void slot_ring(Input& in);
}  // namespace ipcb::fuzz
