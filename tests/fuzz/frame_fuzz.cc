// Fuzz target: the receiver's frame checks (harness/transport/frame.h) on messages a hostile sender
// wrote.
//
// Each message is either raw input bytes of any length or a valid frame (the next sequence
// number, the right length, flags and checksum) with a few bytes then changed, so that every
// check down to the checksum is reached. Properties: no access outside the message (it lives in
// its own heap block), each check is counted exactly once (verified or an error, never both,
// never neither) and returns kNone exactly when it counted as verified, and an unchanged valid
// frame always verifies. With --verify off only the shape (length, flags) is checked.
#include <memory>
#include <vector>

#include "harness/transport/frame.h"
#include "tests/fuzz/fuzz_input.h"

namespace ipcb::fuzz {
namespace {

constexpr int kMaxMessages = 256;

std::vector<std::byte> valid_frame(const PayloadSource& source, uint64_t seq, uint32_t flags) {
  FrameHeader h{seq, static_cast<uint32_t>(source.size()), flags, 0, source.checksum(seq)};
  std::vector<std::byte> m(sizeof h + source.size());
  std::memcpy(m.data(), &h, sizeof h);
  auto p = source.payload(seq);
  if (!p.empty()) std::memcpy(m.data() + sizeof h, p.data(), p.size());
  return m;
}

}  // namespace

void frame(Input& in) {
  PayloadSource source(in.u16() % 1024);
  VerifyMode mode = static_cast<VerifyMode>(in.u8() % 3);
  FrameChecker checker(source, mode);
  for (int i = 0; i < kMaxMessages && !in.empty(); ++i) {
    std::vector<std::byte> m;
    bool changed = true;
    if (in.u8() % 2 == 0) {
      auto raw = in.bytes(in.u16() % (sizeof(FrameHeader) + source.size() + 16));
      m.assign(reinterpret_cast<const std::byte*>(raw.data()),
               reinterpret_cast<const std::byte*>(raw.data()) + raw.size());
    } else {
      m = valid_frame(source, checker.next_seq(), 1u << (in.u8() % 5));
      int edits = in.u8() % 4;
      changed = edits > 0;
      for (int e = 0; e < edits && !m.empty(); ++e) {
        m[in.u16() % m.size()] ^= std::byte(in.u8() | 1);  // `| 1`: always a real change
      }
      if (in.u8() % 8 == 0) {  // now and then cut short or run long
        m.resize(in.u16() % (m.size() + 16));
        changed = true;
      }
    }
    // Its own exact-size heap block, so a read past the end is an ASan report.
    std::unique_ptr<std::byte[]> block(new std::byte[m.size() == 0 ? 1 : m.size()]);
    if (!m.empty()) std::memcpy(block.get(), m.data(), m.size());
    std::span<const std::byte> message(block.get(), m.size());

    FrameHeader h = read_header(message);
    if (message.size() < sizeof(FrameHeader)) FUZZ_CHECK(h.seq == 0 && h.checksum == 0);
    uint64_t verified = checker.verified(), errors = checker.errors();
    FrameFault f = checker.check(message);
    if (mode == VerifyMode::kOff) {
      // Only the shape the protocol acts on (length, flags) is checked; nothing is verified.
      FUZZ_CHECK(f == FrameFault::kNone || f == FrameFault::kTruncated ||
                 f == FrameFault::kBadFlags);
      FUZZ_CHECK(checker.verified() == verified);
      FUZZ_CHECK(checker.errors() == errors + (f == FrameFault::kNone ? 0 : 1));
      if (!changed) FUZZ_CHECK(f == FrameFault::kNone);
      continue;
    }
    bool ok = checker.verified() == verified + 1 && checker.errors() == errors;
    bool bad = checker.verified() == verified && checker.errors() == errors + 1;
    FUZZ_CHECK(ok != bad);
    FUZZ_CHECK(ok == (f == FrameFault::kNone));
    if (!changed) FUZZ_CHECK(ok);
  }
}

}  // namespace ipcb::fuzz
