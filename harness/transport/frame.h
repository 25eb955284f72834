// The frame every message carries, and the checks the receiver makes on it.
//
// A message is a 32-byte FrameHeader followed by the payload. The payload for sequence number s
// is a window of a fixed pattern that starts at an offset derived from s, so consecutive
// messages differ in every word at no cost to the sender, and the receiver can tell a stale or
// torn payload from the right one. Checksums (XXH3-64) of every window are computed once up
// front, so the sender's per-message cost is the copy alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "harness/sys/error.h"

namespace ipcb {

struct FrameHeader {
  uint64_t seq;
  uint32_t payload_bytes;
  uint32_t flags;
  uint64_t send_ns;   // CLOCK_MONOTONIC at send, or 0 when this message is not timed
  uint64_t checksum;  // XXH3-64 of the payload
};
static_assert(sizeof(FrameHeader) == 32, "the header is part of the wire format");
static_assert(offsetof(FrameHeader, payload_bytes) == 8 && offsetof(FrameHeader, flags) == 12 &&
                  offsetof(FrameHeader, send_ns) == 16 && offsetof(FrameHeader, checksum) == 24,
              "write_header's offsets");

enum FrameFlags : uint32_t {
  kFrameData = 1,
  kFrameStop = 2,  // the sender is done; the receiver answers with kFrameAck and finishes
  kFrameAck = 4,
  kFrameSync = 8,    // warm-up is over; the receiver resets its statistics and answers kFrameAck
  kFrameBurst = 16,  // fanin: send this many data messages back (count and stamp stride in
                     // send_ns, see encode_burst in session.h)
  // rate: the data messages that follow go out on a schedule of send_ns messages per second,
  // starting at the first one's stamp (see PacedLatency in rate.h). 32 stays unused: tests use
  // it as the flag no frame may carry.
  kFramePace = 64,
};
inline constexpr uint32_t kAllFrameFlags =
    kFrameData | kFrameStop | kFrameAck | kFrameSync | kFrameBurst | kFramePace;

// Copies n bytes, 128 at a time in 32-byte vectors (an AVX2 clone where the CPU has it), then
// the last 32. Not the C library's memcpy: glibc 2.36's uses `rep movsb` on CPUs that say it is
// fast, and on a 2-vCPU AMD EPYC guest that ran 20-30 times slower (2-3 GB/s, 4 KiB to 256 KiB)
// whenever the destination lay 1-31 bytes after the source modulo 4 KiB. A ring slot's payload
// and the stored pattern it is copied from meet such a distance for one message in 64, so a
// memcpy made the instrument slower for some messages than the mechanism. This loop ran within
// the noise of glibc's best rate, or above it, at every size (4 KiB to 16 MiB) and distance
// measured there.
void copy_large(std::byte* __restrict dst, const std::byte* __restrict src, size_t n);

// memcpy for the message path: small copies (up to 256 bytes) inline, as a few overlapping
// fixed-size moves, instead of a call into the C library; larger ones with copy_large.
inline void copy_bytes(std::byte* __restrict dst, const std::byte* __restrict src, size_t n) {
  if (n > 256) {
    copy_large(dst, src, n);
  } else if (n >= 32) {
    for (size_t i = 0; i + 32 < n; i += 32) std::memcpy(dst + i, src + i, 32);
    std::memcpy(dst + n - 32, src + n - 32, 32);  // the last 32 (overlapping the loop's last)
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    if (n > 16) std::memcpy(dst + 8, src + 8, 8);
    if (n > 24) std::memcpy(dst + 16, src + 16, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// Puts a vector's elements on a cache line (64 bytes): the message path copies 32 bytes at a
// time, and a load or store that straddles two lines costs two.
template <typename T>
struct LineAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  LineAligned() = default;
  template <typename U>
  explicit LineAligned(const LineAligned<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  bool operator==(const LineAligned&) const = default;
};
using LineBytes = std::vector<std::byte, LineAligned<std::byte>>;

enum class VerifyMode { kFull, kSeq, kOff };
const char* verify_name(VerifyMode m);
Result<VerifyMode> parse_verify(const std::string& s);

// Payload windows and their checksums for one payload size. The pattern is the sequence of
// 64-bit words w[t] = kBase + t * kStep (little-endian bytes); window v starts at word 8 * v.
// A sender copies its window from a stored copy (in place, larger ones are built in the slot from
// generated words: write_at); a receiver compares small payloads with the stored copy and larger
// ones (kGenerateAbove) with the words generated as it goes.
// Consecutive windows differ in every word.
class PayloadSource {
 public:
  static constexpr size_t kVariants = 61;  // prime, so it divides no ring's record count
  static constexpr uint64_t kBase = 0x2545F4914F6CDD1DULL;
  static constexpr uint64_t kStep = 0x9E3779B97F4A7C15ULL;  // odd: no two words of a window agree
  static constexpr size_t kStride = 64;                     // window offsets step by one cache line
  // Up to this, copy_matching is an inline word loop (a call into a SIMD clone costs more).
  static constexpr size_t kInlineAtMost = 256;
  // Above this, receivers compare with generated words rather than the stored pattern: a vector
  // add per 32 bytes costs less than reading a second stream (on an AMD EPYC guest, 64 KiB
  // messages out of an 8 MiB ring: copy-and-compare 34-38 GB/s generated, 24-26 stored;
  // compare alone 51-59 against memcmp's 40; at 4 KiB equal or better).
  static constexpr size_t kGenerateAbove = kInlineAtMost;

  explicit PayloadSource(size_t payload_bytes);
  size_t size() const { return size_; }
  // Which window message `seq` carries.
  static size_t variant_of(uint64_t seq) { return static_cast<size_t>(seq % kVariants); }
  std::span<const std::byte> payload(uint64_t seq) const { return payload_at(variant_of(seq)); }
  uint64_t checksum(uint64_t seq) const { return checksums_[variant_of(seq)]; }
  // The same by window (variant_of(seq)), for a caller that sends or expects several things
  // of one message.
  std::span<const std::byte> payload_at(size_t variant) const {
    return std::span(pattern_.data() + variant * kStride, size_);
  }
  uint64_t checksum_at(size_t variant) const { return checksums_[variant]; }
  // Whether `data` (size() bytes) is the payload of `seq`: every byte is read and compared.
  bool matches(std::span<const std::byte> data, uint64_t seq) const {
    return matches_at(data, variant_of(seq));
  }
  bool matches_at(std::span<const std::byte> data, size_t variant) const {
    if (data.size() == size_ && size_ <= kInlineAtMost) {
      return compare_inline<false>(nullptr, data.data(), payload_at(variant).data(), size_);
    }
    return matches_large(data, variant);
  }
  // Copies size() bytes from src to dst and says whether they are the payload of `seq`, in one
  // pass (each source byte is read once; the compare uses the value that was stored).
  bool copy_matching(std::byte* dst, const std::byte* src, uint64_t seq) const {
    return copy_matching_at(dst, src, variant_of(seq));
  }
  bool copy_matching_at(std::byte* dst, const std::byte* src, size_t variant) const {
    if (size_ <= kInlineAtMost) {
      return compare_inline<true>(dst, src, payload_at(variant).data(), size_);
    }
    return copy_matching_large(dst, src, variant);
  }
  // Builds the payload of window `variant` (size() bytes) at dst, as an in-place sender does in
  // its slot: small ones copied from the stored pattern (inline), larger ones (kGenerateAbove)
  // written from generated words, with no source to read (at 64 KiB and more the stored pattern
  // no longer fits in L1, at 1 MiB not in L2).
  void write_at(std::byte* dst, size_t variant) const {
    if (size_ <= kGenerateAbove) {
      copy_bytes(dst, payload_at(variant).data(), size_);
    } else {
      write_large(dst, variant);
    }
  }
  // Copies a whole message (header and payload) from src to dst; with `compare`, says whether
  // its payload is window `variant` (in the same pass), else returns true.
  bool copy_message(std::byte* dst, const std::byte* src, size_t variant, bool compare) const {
    std::memcpy(dst, src, sizeof(FrameHeader));
    dst += sizeof(FrameHeader);
    src += sizeof(FrameHeader);
    if (compare) return copy_matching_at(dst, src, variant);
    copy_bytes(dst, src, size_);
    return true;
  }

  // For small sizes, inline (a call costs more than the words): compares
  // n bytes of `src` with `expected` and, with kCopy, stores them at `dst` in the same pass,
  // 16 bytes at a time (SSE2, in every x86-64 build), then 8, then single bytes.
  // With kCopy each byte is loaded once and the compare uses the value stored (keep_loaded):
  // left to itself, GCC 12 turned the loop into a call to memcpy and a second pass over `src`,
  // which a writer racing the copy could make differ from the copy.
  template <bool kCopy>
  static bool compare_inline(std::byte* __restrict dst, const std::byte* __restrict src,
                             const std::byte* __restrict expected, size_t n) {
    V16 d{};
    size_t i = 0;
    compare_words<kCopy>(dst, src, expected, n, i, d);
    uint64_t diff = d[0] | d[1];
    compare_words<kCopy>(dst, src, expected, n, i, diff);
    for (; i < n; ++i) {
      std::byte b = src[i];
      if constexpr (kCopy) {
        keep_loaded(b);
        dst[i] = b;
      }
      diff |= static_cast<uint64_t>(b ^ expected[i]);
    }
    return diff == 0;
  }
  // compare_inline's steps of one word type W (a 16-byte vector, then 8 bytes): from `i` while a
  // whole W fits in `n`, OR-ing the differences into `diff`; `i` ends past the last one.
  template <bool kCopy, class W>
  static void compare_words(std::byte* __restrict dst, const std::byte* __restrict src,
                            const std::byte* __restrict expected, size_t n, size_t& i, W& diff) {
    for (; i + sizeof(W) <= n; i += sizeof(W)) {
      W w, e;
      std::memcpy(&w, src + i, sizeof w);
      std::memcpy(&e, expected + i, sizeof e);
      if constexpr (kCopy) {
        keep_loaded(w);
        std::memcpy(dst + i, &w, sizeof w);
      }
      diff |= w ^ e;
    }
  }
  // After a load from shared memory: the compiler may no longer assume that `v` equals the bytes
  // it was loaded from, so it keeps the value it loaded instead of loading them again.
  typedef uint64_t V16 __attribute__((vector_size(16)));
  static void keep_loaded(V16& v) {
#if defined(__x86_64__) || defined(__i386__)
    asm("" : "+x"(v));  // an SSE register
#elif defined(__aarch64__)
    asm("" : "+w"(v));  // a SIMD register
#else
    asm("" : "+m"(v));  // through the stack, where no other vector register class is known
#endif
  }
  template <class T>
  static void keep_loaded(T& v) {
    asm("" : "+r"(v));
  }

 private:
  static uint64_t first_word(size_t variant) {
    return kBase + variant * 8 * kStep;
  }
  bool copy_matching_large(std::byte* dst, const std::byte* src, size_t variant) const;
  void write_large(std::byte* dst, size_t variant) const;
  bool matches_large(std::span<const std::byte> data, size_t variant) const;

  size_t size_;
  LineBytes pattern_;
  std::vector<uint64_t> checksums_;
};

enum class FrameFault { kNone, kTruncated, kLost, kReordered, kChecksum, kBadFlags };
const char* fault_name(FrameFault f);
inline bool is_protocol_fault(FrameFault f) {
  return f != FrameFault::kNone && f != FrameFault::kChecksum;
}

// Checks each received message in order: its shape (length, and flags: exactly one known flag)
// in every mode, since the protocol acts on them; with kSeq and kFull the sequence (gap = lost,
// going back = reordered or duplicated); with kFull every payload byte against the pattern the
// sequence number implies, and the header's checksum against that pattern's. Counts what it
// saw. A shape or sequence fault breaks the protocol (the peer cannot be trusted to answer), so
// callers end the run on it at once (is_protocol_fault); a checksum fault is counted and the run
// fails at its end.
class FrameChecker {
 public:
  FrameChecker(const PayloadSource& source, VerifyMode mode) : source_(source), mode_(mode) {}

  // How the payload was compared before check() (copy_matching while copying it out).
  enum class Compared { kNot, kMatched, kDiffered };
  // `message` is the header and payload as received (copied out, or where it lies). With
  // kFull, `compared` other than kNot is the result of comparing the payload with the pattern
  // of next_seq() (what a message in order carries), so the payload is not read again.
  FrameFault check(std::span<const std::byte> message, Compared compared = Compared::kNot);
  // The shape alone (length, payload_bytes, flags), neither counted nor remembered: what a
  // receiver needs to act before the full check (which checks it again).
  FrameFault check_shape(std::span<const std::byte> message) const {
    if (message.size() != sizeof(FrameHeader) + source_.size()) return FrameFault::kTruncated;
    FrameHeader h;
    std::memcpy(&h, message.data(), sizeof h);
    if (shape_ok(h)) return FrameFault::kNone;
    return h.payload_bytes != source_.size() ? FrameFault::kTruncated : FrameFault::kBadFlags;
  }
  // check()'s common case, inline: a data message, in order at kSeq and kFull, whose payload
  // (compared before, per `compared`, or here) and checksum are right at kFull. Counts it as
  // check() would and returns true; otherwise changes nothing and returns false, and check()
  // then judges the message and names the fault.
  bool check_data_fast(std::span<const std::byte> message, Compared compared) {
    if (message.size() != sizeof(FrameHeader) + source_.size()) return false;
    FrameHeader h;
    std::memcpy(&h, message.data(), sizeof h);
    const bool matched = compared == Compared::kNot
                             ? mode_ != VerifyMode::kFull ||
                                   (h.seq == next_seq_ &&
                                    source_.matches_at(message.subspan(sizeof h), next_variant_))
                             : compared == Compared::kMatched;
    return accept_data_fast(h, matched);
  }
  // check_data_fast for a message whose header is `h` and whose payload was compared while it
  // was copied out (`payload_matched`, against the pattern of next_seq()): the receive fast
  // path, which has the header in registers already.
  bool accept_data_fast(const FrameHeader& h, bool payload_matched) {
    if (h.payload_bytes != source_.size() || h.flags != kFrameData) return false;
    if (mode_ == VerifyMode::kOff) return true;
    if (h.seq != next_seq_) return false;
    if (mode_ == VerifyMode::kFull &&
        (!payload_matched || h.checksum != source_.checksum_at(next_variant_))) {
      return false;
    }
    advance();
    ++verified_;
    return true;
  }
  // check_shape for a message of the right length whose header is `h`.
  bool shape_ok(const FrameHeader& h) const {
    return h.payload_bytes == source_.size() && (h.flags & ~kAllFrameFlags) == 0 && h.flags != 0 &&
           (h.flags & (h.flags - 1)) == 0;
  }

  uint64_t verified() const { return verified_; }
  uint64_t errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }
  // The text of the last fault, naming the field ("flags = 0x40 ...").
  const std::string& last_error() const { return last_error_; }
  uint64_t next_seq() const { return next_seq_; }
  // The payload window next_seq() carries (PayloadSource::variant_of, kept as it advances).
  size_t next_variant() const { return next_variant_; }

 private:
  FrameFault fail(FrameFault f, const std::string& text);
  void advance() {
    ++next_seq_;
    if (++next_variant_ == PayloadSource::kVariants) next_variant_ = 0;
  }
  void resync(uint64_t next) {
    next_seq_ = next;
    next_variant_ = PayloadSource::variant_of(next);
  }

  const PayloadSource& source_;
  VerifyMode mode_;
  uint64_t next_seq_ = 0;
  size_t next_variant_ = 0;
  uint64_t verified_ = 0;
  uint64_t errors_ = 0;
  std::string first_error_;
  std::string last_error_;
};

// Writes a header into a message a field at a time. memcpy(dst, &h, 32) of a header just built
// or changed in a local (an echo's new sequence number) compiles to 16-byte loads of the local,
// which span the fields' narrower stores: the CPU cannot forward those stores to the loads, which
// wait until the stores have reached the cache. Written field by field, the one-way p50 of 8 and
// 64 B spin ping-pongs fell 3-16% (median per benchmark of 6-10 interleaved pairs in both orders,
// 2-vCPU AMD EPYC guest, pinned cross).
inline void write_header(std::byte* dst, const FrameHeader& h) {
  std::memcpy(dst, &h.seq, sizeof h.seq);
  std::memcpy(dst + 8, &h.payload_bytes, sizeof h.payload_bytes);
  std::memcpy(dst + 12, &h.flags, sizeof h.flags);
  std::memcpy(dst + 16, &h.send_ns, sizeof h.send_ns);
  std::memcpy(dst + 24, &h.checksum, sizeof h.checksum);
}

// Reads the header out of a received message (memcpy: the bytes may be unaligned or shared).
inline FrameHeader read_header(std::span<const std::byte> message) {
  FrameHeader h{};
  if (message.size() >= sizeof h) std::memcpy(&h, message.data(), sizeof h);
  return h;
}
// XXH3-64 of a buffer.
uint64_t checksum_of(std::span<const std::byte> data);
// Reads every byte of `data` (a cheap fold) so even --verify off really reads the payload.
uint64_t touch_all(std::span<const std::byte> data);
// Copies n bytes from src to dst (dst may be null: compare only) and compares them with the
// generated words first, first + step, ... (little-endian) in the same pass (each source byte is
// read once, the compare uses the value that was stored). True when equal.
bool copy_compare_words(std::byte* dst, const std::byte* src, uint64_t first, uint64_t step,
                        size_t n);
// Writes n bytes of the generated words first, first + step, ... (little-endian) at dst: a
// payload built where it lies, with no source to read.
void write_words(std::byte* dst, uint64_t first, uint64_t step, size_t n);

}  // namespace ipcb
