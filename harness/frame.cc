// Frame encoding support and receiver-side verification (see frame.h).
#include "harness/frame.h"

#include <xxhash.h>

#include <bit>
#include <cstdio>
#include <cstring>

#include "harness/sys.h"

// An AVX2 clone where the CPU has it, picked at load time (an ifunc). TSan's runtime is not up
// when ifunc resolvers run, so its builds keep the baseline version.
#if defined(__SANITIZE_THREAD__)
#define IPCB_SIMD_CLONES
#else
#define IPCB_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#endif

namespace ipcb {

const char* verify_name(VerifyMode m) {
  switch (m) {
    case VerifyMode::kFull:
      return "full";
    case VerifyMode::kSeq:
      return "seq";
    case VerifyMode::kOff:
      return "off";
  }
  return "?";
}

Result<VerifyMode> parse_verify(const std::string& s) {
  if (s == "full") return VerifyMode::kFull;
  if (s == "seq") return VerifyMode::kSeq;
  if (s == "off") return VerifyMode::kOff;
  return plain_error("--verify", "unknown mode '" + s + "' (valid: full, seq, off)");
}

const char* fault_name(FrameFault f) {
  switch (f) {
    case FrameFault::kNone:
      return "none";
    case FrameFault::kTruncated:
      return "truncated";
    case FrameFault::kLost:
      return "lost";
    case FrameFault::kReordered:
      return "reordered";
    case FrameFault::kChecksum:
      return "checksum";
    case FrameFault::kBadFlags:
      return "bad flags";
  }
  return "?";
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

bool PayloadSource::matches(std::span<const std::byte> data, uint64_t seq) const {
  if (data.size() != size_) return false;
  if (size_ > kGenerateAbove) {
    return copy_compare_words(nullptr, data.data(), first_word(seq), kStep, size_);
  }
  return size_ == 0 || std::memcmp(data.data(), payload(seq).data(), size_) == 0;
}

bool PayloadSource::copy_matching_large(std::byte* dst, const std::byte* src, uint64_t seq) const {
  if (size_ > kGenerateAbove) return copy_compare_words(dst, src, first_word(seq), kStep, size_);
  return copy_compare(dst, src, payload(seq).data(), size_);
}

uint64_t checksum_of(std::span<const std::byte> data) {
  return XXH3_64bits(data.data(), data.size());
}

uint64_t touch_all(std::span<const std::byte> data) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, data.data() + i, 8);
    acc ^= w;
  }
  for (; i < data.size(); ++i) acc += static_cast<uint64_t>(data[i]);
  return acc;
}

// One pass, 8 bytes at a time (vectorised; an AVX2 clone where the CPU has it): load, store,
// and fold the difference from the pattern.
IPCB_SIMD_CLONES bool copy_compare(std::byte* __restrict dst, const std::byte* __restrict src,
                                   const std::byte* __restrict expected, size_t n) {
  uint64_t diff = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w, e;
    std::memcpy(&w, src + i, 8);
    std::memcpy(&e, expected + i, 8);
    std::memcpy(dst + i, &w, 8);
    diff |= w ^ e;
  }
  for (; i < n; ++i) {
    std::byte b = src[i];
    dst[i] = b;
    diff |= static_cast<uint64_t>(b ^ expected[i]);
  }
  return diff == 0;
}

IPCB_SIMD_CLONES bool copy_compare_words(std::byte* __restrict dst, const std::byte* __restrict src,
                                         uint64_t first, uint64_t step, size_t n) {
  static_assert(std::endian::native == std::endian::little, "the pattern's byte order");
  uint64_t diff = 0;
  size_t i = 0;
  uint64_t e = first;
  if (dst != nullptr) {
    for (; i + 8 <= n; i += 8, e += step) {
      uint64_t w;
      std::memcpy(&w, src + i, 8);
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
    if (dst != nullptr) dst[i] = b;
    diff |= static_cast<uint64_t>(b) ^ ((e >> (8 * (i % 8))) & 0xFF);
  }
  return diff == 0;
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
    next_seq_ = h.seq + 1;
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
    next_seq_ = h.seq + 1;  // resynchronise so one fault is counted once
    if (h.seq > expected) {
      return fail(FrameFault::kLost, "seq = " + std::to_string(h.seq) + ", expected " +
                                         std::to_string(expected) + " (" +
                                         std::to_string(h.seq - expected) + " missing)");
    }
    return fail(FrameFault::kReordered, "seq = " + std::to_string(h.seq) + ", expected " +
                                            std::to_string(expected) + " (reordered or repeated)");
  }
  ++next_seq_;
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
