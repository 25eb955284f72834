// Frame checks: a flipped payload bit, a reordered, a lost and a truncated message are each
// detected; good messages pass in every mode.
#include "harness/transport/frame.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

namespace ipcb {
namespace {

std::vector<std::byte> frame(const PayloadSource& src, uint64_t seq) {
  FrameHeader h{seq, static_cast<uint32_t>(src.size()), kFrameData, 0, src.checksum(seq)};
  std::vector<std::byte> m(sizeof h + src.size());
  std::memcpy(m.data(), &h, sizeof h);
  auto p = src.payload(seq);
  std::memcpy(m.data() + sizeof h, p.data(), p.size());
  return m;
}

class FrameTest : public ::testing::TestWithParam<size_t> {};

TEST_P(FrameTest, GoodSequencePasses) {
  PayloadSource src(GetParam());
  FrameChecker c(src, VerifyMode::kFull);
  for (uint64_t s = 0; s < 200; ++s) EXPECT_EQ(c.check(frame(src, s)), FrameFault::kNone);
  EXPECT_EQ(c.verified(), 200u);
  EXPECT_EQ(c.errors(), 0u);
}

TEST_P(FrameTest, FlippedPayloadBitIsDetected) {
  PayloadSource src(GetParam());
  FrameChecker c(src, VerifyMode::kFull);
  auto m = frame(src, 0);
  m[sizeof(FrameHeader) + GetParam() / 2] ^= std::byte{0x10};
  EXPECT_EQ(c.check(m), FrameFault::kChecksum);
  EXPECT_EQ(c.errors(), 1u);
}

TEST_P(FrameTest, StalePayloadWithFreshHeaderIsDetected) {
  PayloadSource src(GetParam());
  FrameChecker c(src, VerifyMode::kFull);
  auto m = frame(src, 0);
  auto old = frame(src, 1);  // header of seq 0, payload of another message
  std::memcpy(m.data() + sizeof(FrameHeader), old.data() + sizeof(FrameHeader), GetParam());
  EXPECT_EQ(c.check(m), FrameFault::kChecksum);
}

TEST_P(FrameTest, ReorderedIsDetected) {
  PayloadSource src(GetParam());
  FrameChecker c(src, VerifyMode::kSeq);
  EXPECT_EQ(c.check(frame(src, 0)), FrameFault::kNone);
  EXPECT_EQ(c.check(frame(src, 2)), FrameFault::kLost);
  EXPECT_EQ(c.check(frame(src, 1)), FrameFault::kReordered);
}

TEST_P(FrameTest, LostIsDetected) {
  PayloadSource src(GetParam());
  FrameChecker c(src, VerifyMode::kSeq);
  EXPECT_EQ(c.check(frame(src, 0)), FrameFault::kNone);
  EXPECT_EQ(c.check(frame(src, 5)), FrameFault::kLost);
  EXPECT_NE(c.first_error().find("4 missing"), std::string::npos) << c.first_error();
  EXPECT_EQ(c.check(frame(src, 6)), FrameFault::kNone);  // resynchronised: counted once
  EXPECT_EQ(c.errors(), 1u);
}

TEST_P(FrameTest, TruncatedIsDetected) {
  PayloadSource src(GetParam());
  FrameChecker c(src, VerifyMode::kSeq);
  auto m = frame(src, 0);
  m.resize(m.size() - 1);
  EXPECT_EQ(c.check(m), FrameFault::kTruncated);
  auto tiny = std::vector<std::byte>(10);
  EXPECT_EQ(c.check(tiny), FrameFault::kTruncated);
}

TEST_P(FrameTest, VerifyOffChecksOnlyTheShapeAndVerifiesNothing) {
  PayloadSource src(GetParam());
  FrameChecker c(src, VerifyMode::kOff);
  auto m = frame(src, 7);  // out of order, and a payload that is not seq 7's
  std::memset(m.data() + sizeof(FrameHeader), 0x5a, src.size());
  EXPECT_EQ(c.check(m), FrameFault::kNone);
  EXPECT_EQ(c.verified(), 0u);
  m.resize(m.size() - 1);
  EXPECT_EQ(c.check(m), FrameFault::kTruncated) << "the protocol needs the length in every mode";
}

// Flags decide what the receiver does: anything but exactly one known flag is a protocol fault
// in every mode, named with its value.
TEST_P(FrameTest, UnknownOrCombinedFlagsAreProtocolFaults) {
  PayloadSource src(GetParam());
  for (VerifyMode mode : {VerifyMode::kFull, VerifyMode::kSeq, VerifyMode::kOff}) {
    FrameChecker c(src, mode);
    for (uint32_t flags : {0u, 0x20u, 0x80000000u, kFrameData | kFrameStop, 0xffffffffu}) {
      auto m = frame(src, 0);
      std::memcpy(m.data() + offsetof(FrameHeader, flags), &flags, sizeof flags);
      FrameFault f = c.check(m);
      EXPECT_EQ(f, FrameFault::kBadFlags) << verify_name(mode) << " flags " << flags;
      EXPECT_TRUE(is_protocol_fault(f));
      EXPECT_NE(c.last_error().find("flags = 0x"), std::string::npos) << c.last_error();
    }
  }
}

TEST(Frame, OnlyChecksumFaultsLetTheRunGoOn) {
  EXPECT_FALSE(is_protocol_fault(FrameFault::kNone));
  EXPECT_FALSE(is_protocol_fault(FrameFault::kChecksum));
  for (FrameFault f :
       {FrameFault::kTruncated, FrameFault::kLost, FrameFault::kReordered, FrameFault::kBadFlags}) {
    EXPECT_TRUE(is_protocol_fault(f)) << fault_name(f);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, FrameTest, ::testing::Values(1, 64, 4096, 1 << 20));

// Every payload window starts on a cache line, whatever the size: the sender's 32-byte copies
// out of it straddle no line boundary (but the last, overlapping one when the size is not a
// multiple of 32).
TEST(Frame, EveryPayloadWindowStartsOnACacheLine) {
  for (size_t n : {size_t{1}, size_t{8}, size_t{100}, size_t{4096}, size_t{65536}}) {
    PayloadSource src(n);
    for (size_t v = 0; v < PayloadSource::kVariants; ++v) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(src.payload_at(v).data()) % 64, 0u) << n << " " << v;
    }
  }
}

TEST(Frame, CopyMatchingCopiesEveryByteAndSeesAnyDifference) {
  // Around the inline bound, the vector loops' 128- and 32-byte steps and their tails; every
  // byte is changed in turn, so each lane of each loop is seen comparing.
  for (size_t n : {size_t{1}, size_t{9}, size_t{31}, size_t{32}, size_t{33}, size_t{64}, size_t{65},
                   size_t{127}, size_t{256}, size_t{257}, PayloadSource::kInlineAtMost + 100,
                   size_t{1000}, size_t{65536 + 3}}) {
    PayloadSource ps(n);
    for (uint64_t seq : {uint64_t{0}, uint64_t{7}}) {
      std::vector<std::byte> src(ps.payload(seq).begin(), ps.payload(seq).end());
      std::vector<std::byte> dst(n, std::byte{0xEE});
      EXPECT_TRUE(ps.copy_matching(dst.data(), src.data(), seq)) << n;
      EXPECT_EQ(dst, src) << n;
      // Every byte up to 1000; above, every 61st (each lane of each step) and the tail.
      std::vector<size_t> changed;
      for (size_t at = 0; at<n; at += n> 1000 ? 61 : 1) changed.push_back(at);
      for (size_t back = 1; back <= std::min<size_t>(n, 8); ++back) changed.push_back(n - back);
      for (size_t at : changed) {
        src[at] ^= std::byte{0x80};
        std::fill(dst.begin(), dst.end(), std::byte{0xEE});  // so a skipped copy shows
        EXPECT_FALSE(ps.copy_matching(dst.data(), src.data(), seq))
            << "size " << n << " byte " << at;
        EXPECT_EQ(dst, src) << "the copy does not depend on the compare";
        src[at] ^= std::byte{0x80};
      }
    }
  }
}

// A writer that races the copy (a peer writing a slot it does not own) may change what the copy
// reads, but never so that the copy holds one thing and the verdict was about another: a payload
// called the pattern was copied as the pattern. One word of the source flips between its right
// and a wrong value while the copy runs, in the middle (the vector loops) and in the last two
// words (the 8-byte and byte tails); the copy must load each byte once and compare the value it
// stored (GCC 12 compared a second load, and inlined small sizes as memcpy then a compare).
TEST(Frame, ACopyCalledMatchingHoldsThePatternWhileAWriterRaces) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a deliberate data race";
#else
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) < 2) {
    GTEST_SKIP() << "the writer needs a CPU of its own to race the copy";
  }
  for (size_t n : {size_t{64}, size_t{100}, size_t{256}, size_t{300}, size_t{4096}, size_t{4100}}) {
    PayloadSource ps(n);
    const uint64_t seq = 5;
    const std::vector<std::byte> want(ps.payload(seq).begin(), ps.payload(seq).end());
    const size_t last = (n - 1) & ~size_t{7};  // the word that holds the last byte
    for (size_t at : {(n / 2) & ~size_t{7}, last - 8, last}) {
      std::vector<uint64_t> src_words((n + 7) / 8);
      std::memcpy(src_words.data(), want.data(), n);
      auto* src = reinterpret_cast<std::byte*>(src_words.data());
      const uint64_t right = src_words[at / 8];
      std::atomic_ref<uint64_t> word(src_words[at / 8]);
      std::atomic<bool> stop{false};
      std::thread writer([&] {
        while (!stop.load(std::memory_order_relaxed)) {
          word.store(right ^ 1, std::memory_order_relaxed);  // the word's first byte differs
          word.store(right, std::memory_order_relaxed);
        }
      });
      std::vector<std::byte> dst(n);
      uint64_t matched = 0, differed = 0, wrong_copies = 0;
      const auto start = std::chrono::steady_clock::now();
      for (;;) {
        for (int k = 0; k < 1000; ++k) {
          if (ps.copy_matching(dst.data(), src, seq)) {
            ++matched;
            if (dst != want) ++wrong_copies;
          } else {
            ++differed;
          }
        }
        const auto spent = std::chrono::steady_clock::now() - start;
        if (spent > std::chrono::seconds(2)) break;
        if (spent > std::chrono::milliseconds(60) && matched > 0 && differed > 0) break;
      }
      stop.store(true);
      writer.join();
      EXPECT_EQ(wrong_copies, 0u) << "size " << n << ", word at " << at << ": " << wrong_copies
                                  << " of " << matched << " copies called the pattern were not";
      // The race ran: some copies saw the wrong value (else the test proved nothing).
      EXPECT_GT(differed, 0u) << "size " << n << ", word at " << at;
      EXPECT_GT(matched, 0u) << "size " << n << ", word at " << at;
    }
  }
#endif
}

TEST(Frame, CopyBytesCopiesExactlyTheRangeAtEverySizeAndDistance) {
  // Sizes around the inline bound and the 128- and 32-byte steps of copy_large, at source and
  // destination offsets that include the distances (modulo 4 KiB) where glibc's memcpy is slow.
  std::vector<std::byte> src(8192 + 4096), dst(8192 + 4096);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::byte>(i * 131 + 7);
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{31}, size_t{32}, size_t{255}, size_t{256}, size_t{257},
        size_t{288}, size_t{383}, size_t{384}, size_t{4096}, size_t{4096 + 40}, size_t{8191}}) {
    for (size_t from : {size_t{0}, size_t{8}, size_t{40}}) {
      for (size_t to : {size_t{0}, size_t{16}, size_t{24}, size_t{64 + 3}}) {
        std::fill(dst.begin(), dst.end(), std::byte{0xEE});
        copy_bytes(dst.data() + to, src.data() + from, n);
        for (size_t i = 0; i < dst.size(); ++i) {
          const bool inside = i >= to && i < to + n;
          const std::byte want = inside ? src[from + i - to] : std::byte{0xEE};
          if (dst[i] != want) {
            ADD_FAILURE() << "size " << n << " from " << from << " to " << to << ": byte " << i;
            break;
          }
        }
      }
    }
  }
}

TEST(Frame, GeneratedWordsAreThePatternAndAnyDifferenceIsSeen) {
  // Above kGenerateAbove receivers compare with generated words: the same bytes as the stored
  // pattern, tail included (the size is no multiple of 8).
  const size_t n = PayloadSource::kGenerateAbove + 13;
  PayloadSource src(n);
  std::vector<std::byte> dst(n);
  for (uint64_t seq : {uint64_t{0}, uint64_t{1}, uint64_t{60}, uint64_t{61}, uint64_t{1000}}) {
    auto p = src.payload(seq);
    EXPECT_TRUE(src.matches(p, seq)) << seq;
    EXPECT_FALSE(src.matches(p, seq + 1)) << seq;
    std::fill(dst.begin(), dst.end(), std::byte{0});
    EXPECT_TRUE(src.copy_matching(dst.data(), p.data(), seq)) << seq;
    EXPECT_TRUE(std::equal(dst.begin(), dst.end(), p.begin())) << seq;
  }
  std::vector<std::byte> m(src.payload(5).begin(), src.payload(5).end());
  for (size_t at : {size_t{0}, n / 2, n - 9, n - 1}) {
    m[at] ^= std::byte{0x04};
    EXPECT_FALSE(src.matches(m, 5)) << "byte " << at;
    EXPECT_FALSE(src.copy_matching(dst.data(), m.data(), 5)) << "byte " << at;
    m[at] ^= std::byte{0x04};
  }
  EXPECT_TRUE(src.matches(m, 5));
  EXPECT_FALSE(src.matches(std::span<const std::byte>(m).first(n - 1), 5));
  // Small payloads compare with the stored copy; the verdicts are the same.
  PayloadSource small(100);
  EXPECT_TRUE(small.matches(small.payload(7), 7));
  EXPECT_FALSE(small.matches(small.payload(7), 8));
}

// An in-place sender builds its payload in the slot (write_at): exactly the stored window's
// bytes, at every size around the bound between copying and generating, whatever the window,
// and not one byte past the payload.
TEST(Frame, WriteAtBuildsExactlyThePayloadOfItsWindow) {
  for (size_t n : {size_t{1}, size_t{8}, size_t{64}, PayloadSource::kGenerateAbove,
                   PayloadSource::kGenerateAbove + 1, PayloadSource::kGenerateAbove + 13,
                   size_t{4096}, size_t{4096 + 127}, size_t{65536}}) {
    PayloadSource src(n);
    std::vector<std::byte> dst(n + 64);
    for (size_t v : {size_t{0}, size_t{1}, size_t{30}, PayloadSource::kVariants - 1}) {
      std::fill(dst.begin(), dst.end(), std::byte{0xA5});
      src.write_at(dst.data(), v);
      auto p = src.payload_at(v);
      EXPECT_TRUE(std::equal(p.begin(), p.end(), dst.begin())) << n << " bytes, window " << v;
      EXPECT_TRUE(std::all_of(dst.begin() + static_cast<std::ptrdiff_t>(n), dst.end(),
                              [](std::byte b) { return b == std::byte{0xA5}; }))
          << n << " bytes, window " << v;
      EXPECT_TRUE(src.matches_at(std::span<const std::byte>(dst).first(n), v));
    }
  }
}

// matches_at compares small payloads inline, word by word with a byte tail, and larger ones
// with generated words: at every size around that bound, a change in any byte is seen.
TEST(Frame, MatchesSeesAChangeInAnyByteAtEverySize) {
  for (size_t n : {size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{63}, size_t{64}, size_t{65},
                   PayloadSource::kInlineAtMost - 1, PayloadSource::kInlineAtMost,
                   PayloadSource::kInlineAtMost + 1, PayloadSource::kInlineAtMost + 9,
                   PayloadSource::kInlineAtMost + 100}) {
    PayloadSource src(n);
    auto p = src.payload_at(3);
    std::vector<std::byte> m(p.begin(), p.end());
    ASSERT_TRUE(src.matches_at(m, 3)) << n;
    EXPECT_FALSE(src.matches_at(m, 4)) << n;
    for (size_t at = 0; at < n; ++at) {
      m[at] ^= std::byte{0x01};
      EXPECT_FALSE(src.matches_at(m, 3)) << "size " << n << ", byte " << at;
      m[at] ^= std::byte{0x01};
    }
    EXPECT_FALSE(src.matches_at(std::span<const std::byte>(m).first(n - 1), 3)) << n;
  }
}

TEST(Frame, ACompareMadeWhileCopyingIsTheVerdict) {
  PayloadSource src(128);
  FrameChecker c(src, VerifyMode::kFull);
  EXPECT_EQ(c.check(frame(src, 0), FrameChecker::Compared::kDiffered), FrameFault::kChecksum);
  EXPECT_EQ(c.check(frame(src, 1), FrameChecker::Compared::kMatched), FrameFault::kNone);
  EXPECT_EQ(c.verified(), 1u);
}

TEST(Frame, WriteHeaderWritesTheWireFormatAndNothingElse) {
  const FrameHeader h{0x0102030405060708ULL, 0x11121314, 0x21222324, 0x3132333435363738ULL,
                      0x4142434445464748ULL};
  std::vector<std::byte> want(40, std::byte{0xEE}), got(40, std::byte{0xEE});
  std::memcpy(want.data() + 4, &h, sizeof h);
  write_header(got.data() + 4, h);
  EXPECT_EQ(got, want);
  const FrameHeader back = read_header(std::span<const std::byte>(got).subspan(4, 32));
  EXPECT_EQ(back.seq, h.seq);
  EXPECT_EQ(back.payload_bytes, h.payload_bytes);
  EXPECT_EQ(back.flags, h.flags);
  EXPECT_EQ(back.send_ns, h.send_ns);
  EXPECT_EQ(back.checksum, h.checksum);
}

TEST(Frame, ConsecutivePayloadsDiffer) {
  PayloadSource src(256);
  EXPECT_NE(src.checksum(0), src.checksum(1));
  EXPECT_NE(std::memcmp(src.payload(0).data(), src.payload(1).data(), 256), 0);
}

}  // namespace
}  // namespace ipcb
