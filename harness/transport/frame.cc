// Frame encoding support and receiver-side verification (see frame.h).
#include "harness/transport/frame.h"

#include <xxhash.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "harness/sys/enum_names.h"
#include "harness/sys/sys.h"

// An AVX2 clone where the CPU has it, picked at load time (an ifunc). TSan's runtime is not up
// when ifunc resolvers run, so its builds keep the baseline version. So do clang's (the fuzz
// build): clang 14 takes target_clones on a C++ function as "avx2" alone, with no dispatch, and
// the binary would stop with an illegal instruction on a CPU without AVX2. AVX2 is x86's alone.
#if defined(__SANITIZE_THREAD__) || defined(__clang__) || !defined(__x86_64__)
#define IPCB_SIMD_CLONES
#else
#define IPCB_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#endif

namespace ipcb {

namespace {

// In the enums' order (frame.h).
constexpr const char* kVerifyNames[] = {"full", "seq", "off"};
static_assert(std::size(kVerifyNames) == static_cast<size_t>(VerifyMode::kOff) + 1);
constexpr const char* kFaultNames[] = {"none",      "truncated", "lost",
                                       "reordered", "checksum",  "bad flags"};
static_assert(std::size(kFaultNames) == static_cast<size_t>(FrameFault::kBadFlags) + 1);

}  // namespace

const char* verify_name(VerifyMode m) {
  return enum_name(m, kVerifyNames);
}

Result<VerifyMode> parse_verify(const std::string& s) {
  if (auto m = enum_named<VerifyMode>(s, kVerifyNames)) return *m;
  return plain_error("--verify", "unknown mode '" + s + "' (valid: full, seq, off)");
}

const char* fault_name(FrameFault f) {
  return enum_name(f, kFaultNames);
}

PayloadSource::PayloadSource(size_t payload_bytes)
    : size_(payload_bytes), pattern_(payload_bytes + kVariants * kStride) {
  // Deterministic, so both processes agree; see frame.h.
  for (size_t i = 0; i < pattern_.size(); i += 8) {
    uint64_t w = kBase + (i / 8) * kStep;
    std::memcpy(pattern_.data() + i, &w, std::min<size_t>(8, pattern_.size() - i));
  }
  checksums_.reserve(kVariants);
  for (size_t v = 0; v < kVariants; ++v) checksums_.push_back(checksum_of(payload(v)));
}

// Called above kInlineAtMost (= kGenerateAbove) or for data of the wrong size.
bool PayloadSource::matches_large(std::span<const std::byte> data, size_t variant) const {
  if (data.size() != size_) return false;
  return copy_compare_words(nullptr, data.data(), first_word(variant), kStep, size_);
}

void PayloadSource::write_large(std::byte* dst, size_t variant) const {
  write_words(dst, first_word(variant), kStep, size_);
}

bool PayloadSource::copy_matching_large(std::byte* dst, const std::byte* src,
                                        size_t variant) const {
  return copy_compare_words(dst, src, first_word(variant), kStep, size_);
}

uint64_t checksum_of(std::span<const std::byte> data) {
  return XXH3_64bits(data.data(), data.size());
}

namespace {
// 32 bytes as a GCC vector: unaligned loads and stores through memcpy, one AVX2 register in
// the AVX2 clones (two SSE2 registers otherwise). Only ever a local: passing one by value to a
// function would change the ABI between the clones.
typedef uint64_t V32 __attribute__((vector_size(32)));
// Loads 32 bytes at `p` into the V32 `v`.
#define IPCB_LOAD32(v, p) std::memcpy(&(v), (p), sizeof(V32))
// After loads from shared memory: the compiler may no longer assume that memory still holds what
// they read, so it keeps the values loaded rather than load them again (a copy-and-compare then
// compares the very value it stored; without this, GCC 12 compared a second load of each 32
// bytes, which a writer racing the copy could make differ from the copy). It applies to every
// vector loaded before it (a compiler barrier: no instruction is emitted; a barrier rather than
// each vector as an asm operand, which the baseline clone, whose V32 is two SSE registers,
// could not pass in a register).
#define IPCB_KEEP_LOADED() asm("" : : : "memory")
#define IPCB_ANY_SET(v) (((v)[0] | (v)[1] | (v)[2] | (v)[3]) != 0)
}  // namespace

IPCB_SIMD_CLONES void copy_large(std::byte* __restrict dst, const std::byte* __restrict src,
                                 size_t n) {
  if (n < 32) {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
    return;
  }
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    V32 a, b, c, d;
    IPCB_LOAD32(a, src + i);
    IPCB_LOAD32(b, src + i + 32);
    IPCB_LOAD32(c, src + i + 64);
    IPCB_LOAD32(d, src + i + 96);
    std::memcpy(dst + i, &a, sizeof a);
    std::memcpy(dst + i + 32, &b, sizeof b);
    std::memcpy(dst + i + 64, &c, sizeof c);
    std::memcpy(dst + i + 96, &d, sizeof d);
  }
  for (; i + 32 <= n; i += 32) {
    V32 a;
    IPCB_LOAD32(a, src + i);
    std::memcpy(dst + i, &a, sizeof a);
  }
  if (i < n) {  // the last 32 bytes, overlapping what the loops copied
    V32 a;
    IPCB_LOAD32(a, src + n - 32);
    std::memcpy(dst + n - 32, &a, sizeof a);
  }
}

// Every byte is read, 64 at a time (two independent accumulators), then the tail.
IPCB_SIMD_CLONES uint64_t touch_all(std::span<const std::byte> data) {
  const std::byte* p = data.data();
  const size_t n = data.size();
  V32 a{}, b{};
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    V32 x, y;
    IPCB_LOAD32(x, p + i);
    IPCB_LOAD32(y, p + i + 32);
    a ^= x;
    b ^= y;
  }
  a ^= b;
  uint64_t acc = a[0] ^ a[1] ^ a[2] ^ a[3];
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc ^= w;
  }
  for (; i < n; ++i) acc += static_cast<uint64_t>(p[i]);
  return acc;
}

IPCB_SIMD_CLONES bool copy_compare_words(std::byte* __restrict dst, const std::byte* __restrict src,
                                         uint64_t first, uint64_t step, size_t n) {
  static_assert(std::endian::native == std::endian::little, "the pattern's byte order");
  // 128 bytes at a time (four loads, then four stores, as copy_large): the sixteen expected words
  // as four vectors, each stepped by 16 words; then 32 bytes at a time. With 64-byte steps, a
  // 4 KiB stream in copy mode ran about 10% slower (AMD EPYC guest, pinned cross, median of 27
  // interleaved pairs in both orders); in place and at 64 KiB and 1 MiB it made no measurable
  // difference.
  const uint64_t step4 = 4 * step;
  V32 e0 = {first, first + step, first + 2 * step, first + 3 * step};
  V32 e1 = e0 + step4, e2 = e1 + step4, e3 = e2 + step4;
  const uint64_t step16 = 16 * step;
  V32 d{};
  size_t i = 0;
  if (dst != nullptr) {
    for (; i + 128 <= n; i += 128, e0 += step16, e1 += step16, e2 += step16, e3 += step16) {
      V32 w0, w1, w2, w3;
      IPCB_LOAD32(w0, src + i);
      IPCB_LOAD32(w1, src + i + 32);
      IPCB_LOAD32(w2, src + i + 64);
      IPCB_LOAD32(w3, src + i + 96);
      IPCB_KEEP_LOADED();
      std::memcpy(dst + i, &w0, sizeof w0);
      std::memcpy(dst + i + 32, &w1, sizeof w1);
      std::memcpy(dst + i + 64, &w2, sizeof w2);
      std::memcpy(dst + i + 96, &w3, sizeof w3);
      d |= ((w0 ^ e0) | (w1 ^ e1)) | ((w2 ^ e2) | (w3 ^ e3));
    }
    for (; i + 32 <= n; i += 32, e0 += step4) {
      V32 w0;
      IPCB_LOAD32(w0, src + i);
      IPCB_KEEP_LOADED();
      std::memcpy(dst + i, &w0, sizeof w0);
      d |= w0 ^ e0;
    }
  } else {
    for (; i + 128 <= n; i += 128, e0 += step16, e1 += step16, e2 += step16, e3 += step16) {
      V32 w0, w1, w2, w3;
      IPCB_LOAD32(w0, src + i);
      IPCB_LOAD32(w1, src + i + 32);
      IPCB_LOAD32(w2, src + i + 64);
      IPCB_LOAD32(w3, src + i + 96);
      d |= ((w0 ^ e0) | (w1 ^ e1)) | ((w2 ^ e2) | (w3 ^ e3));
    }
    for (; i + 32 <= n; i += 32, e0 += step4) {
      V32 w0;
      IPCB_LOAD32(w0, src + i);
      d |= w0 ^ e0;
    }
  }
  uint64_t diff = IPCB_ANY_SET(d) ? 1 : 0;
  uint64_t e = e0[0];
  if (dst != nullptr) {
    for (; i + 8 <= n; i += 8, e += step) {
      uint64_t w;
      std::memcpy(&w, src + i, 8);
      PayloadSource::keep_loaded(w);
      std::memcpy(dst + i, &w, 8);
      diff |= w ^ e;
    }
  } else {
    for (; i + 8 <= n; i += 8, e += step) {
      uint64_t w;
      std::memcpy(&w, src + i, 8);
      diff |= w ^ e;
    }
  }
  for (; i < n; ++i) {  // the tail: the low bytes of the next word
    std::byte b = src[i];
    PayloadSource::keep_loaded(b);
    if (dst != nullptr) dst[i] = b;
    diff |= static_cast<uint64_t>(b) ^ ((e >> (8 * (i % 8))) & 0xFF);
  }
  return diff == 0;
}

IPCB_SIMD_CLONES void write_words(std::byte* __restrict dst, uint64_t first, uint64_t step,
                                  size_t n) {
  // As copy_compare_words generates them: 128 bytes at a time, then 32, 8, single bytes.
  const uint64_t step4 = 4 * step;
  V32 e0 = {first, first + step, first + 2 * step, first + 3 * step};
  V32 e1 = e0 + step4, e2 = e1 + step4, e3 = e2 + step4;
  const uint64_t step16 = 16 * step;
  size_t i = 0;
  for (; i + 128 <= n; i += 128, e0 += step16, e1 += step16, e2 += step16, e3 += step16) {
    std::memcpy(dst + i, &e0, sizeof e0);
    std::memcpy(dst + i + 32, &e1, sizeof e1);
    std::memcpy(dst + i + 64, &e2, sizeof e2);
    std::memcpy(dst + i + 96, &e3, sizeof e3);
  }
  for (; i + 32 <= n; i += 32, e0 += step4) std::memcpy(dst + i, &e0, sizeof e0);
  uint64_t e = e0[0];
  for (; i + 8 <= n; i += 8, e += step) std::memcpy(dst + i, &e, 8);
  for (; i < n; ++i) dst[i] = static_cast<std::byte>(e >> (8 * (i % 8)));
}

FrameFault FrameChecker::fail(FrameFault f, const std::string& text) {
  ++errors_;
  last_error_ = std::string(fault_name(f)) + ": " + text;
  if (first_error_.empty()) first_error_ = last_error_;
  return f;
}

FrameFault FrameChecker::check(std::span<const std::byte> message, Compared compared) {
  if (message.size() < sizeof(FrameHeader)) {
    return fail(FrameFault::kTruncated, "message of " + std::to_string(message.size()) +
                                            " bytes is shorter than the frame header");
  }
  FrameHeader h = read_header(message);
  auto payload = message.subspan(sizeof(FrameHeader));
  if (h.payload_bytes != source_.size() || payload.size() != source_.size()) {
    resync(h.seq + 1);
    return fail(FrameFault::kTruncated, "seq " + std::to_string(h.seq) +
                                            ": payload_bytes = " + std::to_string(h.payload_bytes) +
                                            " in the header, " + std::to_string(payload.size()) +
                                            " received, expected " +
                                            std::to_string(source_.size()));
  }
  // Exactly one known flag: the receiver acts on it.
  if ((h.flags & ~kAllFrameFlags) != 0 || h.flags == 0 || (h.flags & (h.flags - 1)) != 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", h.flags);
    return fail(FrameFault::kBadFlags,
                "seq " + std::to_string(h.seq) + ": flags = " + hex +
                    " (expected exactly one of data 0x1, stop 0x2, ack 0x4, sync 0x8, burst 0x10)");
  }
  if (mode_ == VerifyMode::kOff) return FrameFault::kNone;  // no order or payload check
  if (h.seq != next_seq_) {
    uint64_t expected = next_seq_;
    resync(h.seq + 1);  // resynchronise so one fault is counted once
    if (h.seq > expected) {
      return fail(FrameFault::kLost, "seq = " + std::to_string(h.seq) + ", expected " +
                                         std::to_string(expected) + " (" +
                                         std::to_string(h.seq - expected) + " missing)");
    }
    return fail(FrameFault::kReordered, "seq = " + std::to_string(h.seq) + ", expected " +
                                            std::to_string(expected) + " (reordered or repeated)");
  }
  advance();
  if (mode_ == VerifyMode::kFull) {
    // The receiver knows what sequence number s carries: the pattern's window for s, whose
    // checksum the header must also hold. Comparing every byte with it is a stronger check
    // than recomputing a 64-bit hash, at the cost of one read of each (see frame.h).
    // (Here h.seq was next_seq(), so a comparison made before the call used this pattern.)
    bool same = compared == Compared::kNot ? source_.matches(payload, h.seq)
                                           : compared == Compared::kMatched;
    if (h.checksum != source_.checksum(h.seq) || !same) {
      return fail(FrameFault::kChecksum,
                  "seq " + std::to_string(h.seq) + ": the payload or its checksum does not match");
    }
  }
  ++verified_;
  return FrameFault::kNone;
}

}  // namespace ipcb
