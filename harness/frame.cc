// Frame encoding support and receiver-side verification (see frame.h).
#include "harness/frame.h"

#include <xxhash.h>

#include <cstdio>
#include <cstring>

#include "harness/sys.h"

namespace ipcb {
namespace {
constexpr size_t kStride = 64;  // window offsets step by one cache line
}

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
  // A fixed-seed xorshift fills the pattern: deterministic, so both processes agree.
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < pattern_.size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(pattern_.data() + i, &x, std::min<size_t>(8, pattern_.size() - i));
  }
  checksums_.reserve(kVariants);
  for (size_t v = 0; v < kVariants; ++v) checksums_.push_back(checksum_of(payload(v)));
}

std::span<const std::byte> PayloadSource::payload(uint64_t seq) const {
  return std::span(pattern_.data() + (seq % kVariants) * kStride, size_);
}

FrameHeader read_header(std::span<const std::byte> message) {
  FrameHeader h{};
  if (message.size() >= sizeof h) std::memcpy(&h, message.data(), sizeof h);
  return h;
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

FrameFault FrameChecker::fail(FrameFault f, const std::string& text) {
  ++errors_;
  last_error_ = std::string(fault_name(f)) + ": " + text;
  if (first_error_.empty()) first_error_ = last_error_;
  return f;
}

FrameFault FrameChecker::check(std::span<const std::byte> message) {
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
    uint64_t sum = checksum_of(payload);
    if (sum != h.checksum || sum != source_.checksum(h.seq)) {
      return fail(FrameFault::kChecksum,
                  "seq " + std::to_string(h.seq) + ": payload checksum does not match");
    }
  }
  ++verified_;
  return FrameFault::kNone;
}

}  // namespace ipcb
