// The receiver reads every payload byte at every verify level, also in place where nothing is
// copied out: the message lies across pages that are all made inaccessible, and a fault handler
// records each page the receive reads before it lets the read go on. The last payload byte sits
// alone at the start of its page, so a receive that stops one byte short is caught.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "harness/transport/endpoint.h"

namespace ipcb {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kPages = 6;
std::byte* g_base = nullptr;
volatile sig_atomic_t g_touched[kPages];

void on_fault(int, siginfo_t* si, void*) {
  auto* addr = static_cast<std::byte*>(si->si_addr);
  if (g_base == nullptr || addr < g_base || addr >= g_base + kPages * kPage) _exit(99);
  size_t page = static_cast<size_t>(addr - g_base) / kPage;
  g_touched[page] = 1;
  mprotect(g_base + page * kPage, kPage, PROT_READ | PROT_WRITE);
}

// One message, in place: peek_recv hands out where it lies; recv copies it out.
class InPlaceChannel final : public Channel {
 public:
  explicit InPlaceChannel(std::span<const std::byte> msg) : msg_(msg) {}
  Status send(const FrameHeader&, std::span<const std::byte>) override { return ok_status(); }
  Result<size_t> recv(std::span<std::byte> buf) override {  // as SlotChannel's copy out
    if (msg_.size() > buf.size()) return plain_error("recv", "message exceeds the buffer");
    std::memcpy(buf.data(), msg_.data(), msg_.size());
    return msg_.size();
  }
  bool supports_inplace() const override { return true; }
  Result<std::span<const std::byte>> peek_recv() override { return msg_; }

 private:
  std::span<const std::byte> msg_;
};

class EveryByteRead : public ::testing::TestWithParam<VerifyMode> {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "TSan defers and wraps signal handlers; the release and ASan builds run it";
#endif
    void* p =
        mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    g_base = static_cast<std::byte*>(p);
    struct sigaction sa = {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGSEGV, &sa, &old_), 0);
  }
  void TearDown() override {
    if (g_base == nullptr) return;
    sigaction(SIGSEGV, &old_, nullptr);
    munmap(g_base, kPages * kPage);
    g_base = nullptr;
  }
  // Writes message 0 of a `payload`-byte pattern so that its last byte is the first byte of
  // page `end_page`; returns where it lies.
  static std::span<const std::byte> place(const PayloadSource& source, size_t end_page) {
    const size_t len = sizeof(FrameHeader) + source.size();
    const size_t start = end_page * kPage - (len - 1);
    FrameHeader h{0, static_cast<uint32_t>(source.size()), kFrameData, 0, source.checksum(0)};
    std::memcpy(g_base + start, &h, sizeof h);
    std::memcpy(g_base + start + sizeof h, source.payload(0).data(), source.size());
    return {g_base + start, len};
  }
  void receive_reads_every_page(CopyMode mode);
  struct sigaction old_ = {};
};

// Receives a payload over four pages, the message ending on the first byte of page 5, in
// `mode`, and checks that exactly the message's pages were read.
void EveryByteRead::receive_reads_every_page(CopyMode mode) {
  const size_t payload = 3 * kPage + 100;
  PayloadSource source(payload);
  auto msg = place(source, 5);
  const size_t first = static_cast<size_t>(msg.data() - g_base) / kPage;
  const size_t last = static_cast<size_t>(msg.data() + msg.size() - 1 - g_base) / kPage;
  ASSERT_EQ(last, 5u);

  InPlaceChannel ch(msg);
  Endpoint ep(ch, payload, GetParam(), mode);
  for (auto& t : g_touched) t = 0;
  ASSERT_EQ(mprotect(g_base, kPages * kPage, PROT_NONE), 0);
  auto r = ep.recv();
  ASSERT_EQ(mprotect(g_base, kPages * kPage, PROT_READ | PROT_WRITE), 0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(ep.last_fault(), FrameFault::kNone);
  for (size_t p = 0; p < kPages; ++p) {
    EXPECT_EQ(g_touched[p] != 0, p >= first && p <= last) << "page " << p;
  }
}

TEST_P(EveryByteRead, InPlaceReadsEveryPageUpToTheLastByte) {
  receive_reads_every_page(CopyMode::kInplace);
}

// Copied out (checked while copying with --verify full), every page is read too.
TEST_P(EveryByteRead, CopyOutReadsEveryPageUpToTheLastByte) {
  receive_reads_every_page(CopyMode::kCopy);
}

// The deferred check (an echo goes out first) reads it all too, at finish_check.
TEST_P(EveryByteRead, DeferredCheckReadsEveryPageBeforeTheRelease) {
  const size_t payload = 2 * kPage;
  PayloadSource source(payload);
  InPlaceChannel ch(place(source, 4));
  Endpoint ep(ch, payload, GetParam(), CopyMode::kInplace);
  for (auto& t : g_touched) t = 0;
  ASSERT_EQ(mprotect(g_base, kPages * kPage, PROT_NONE), 0);
  auto r = ep.recv(/*defer_check=*/true);
  const bool last_page_before = g_touched[4] != 0;
  auto st = ep.finish_check();
  ASSERT_EQ(mprotect(g_base, kPages * kPage, PROT_READ | PROT_WRITE), 0);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_FALSE(last_page_before) << "the payload pass belongs after the echo";
  EXPECT_TRUE(g_touched[4] != 0) << "the last byte was not read";
  EXPECT_EQ(ep.last_fault(), FrameFault::kNone);
}

INSTANTIATE_TEST_SUITE_P(Levels, EveryByteRead,
                         ::testing::Values(VerifyMode::kOff, VerifyMode::kSeq, VerifyMode::kFull),
                         [](const auto& info) { return std::string(verify_name(info.param)); });

// Copy mode with --verify full compares while it copies out: one changed payload byte, first,
// middle or last, at any size, is a checksum fault, and so is a message of another sequence.
TEST(CopyOutCheck, AChangedByteAnywhereIsCaught) {
  for (size_t size : {size_t{1}, size_t{7}, size_t{8}, size_t{63}, size_t{64}, size_t{4101}}) {
    PayloadSource source(size);
    for (size_t at : {size_t{0}, size / 2, size - 1}) {
      std::vector<std::byte> m(sizeof(FrameHeader) + size);
      FrameHeader h{0, static_cast<uint32_t>(size), kFrameData, 0, source.checksum(0)};
      std::memcpy(m.data(), &h, sizeof h);
      std::memcpy(m.data() + sizeof h, source.payload(0).data(), size);
      {
        InPlaceChannel good(m);
        Endpoint ep(good, size, VerifyMode::kFull, CopyMode::kCopy);
        ASSERT_TRUE(ep.recv());
        EXPECT_EQ(ep.last_fault(), FrameFault::kNone) << size;
      }
      m[sizeof h + at] ^= std::byte{0x01};
      InPlaceChannel bad(m);
      Endpoint ep(bad, size, VerifyMode::kFull, CopyMode::kCopy);
      ASSERT_TRUE(ep.recv());
      EXPECT_EQ(ep.last_fault(), FrameFault::kChecksum) << "size " << size << " byte " << at;
    }
  }
  // Message 0's header over message 1's payload (a stale slot with a fresh header).
  PayloadSource source(256);
  std::vector<std::byte> m(sizeof(FrameHeader) + 256);
  FrameHeader h{0, 256, kFrameData, 0, source.checksum(0)};
  std::memcpy(m.data(), &h, sizeof h);
  std::memcpy(m.data() + sizeof h, source.payload(1).data(), 256);
  InPlaceChannel stale(m);
  Endpoint ep(stale, 256, VerifyMode::kFull, CopyMode::kCopy);
  ASSERT_TRUE(ep.recv());
  EXPECT_EQ(ep.last_fault(), FrameFault::kChecksum);
}

}  // namespace
}  // namespace ipcb
