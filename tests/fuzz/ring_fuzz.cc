// Fuzz target: the SPSC byte ring (harness/transport/ring.h) with an attacker between every
// operation.
//
// One RingControl and a data region of exactly `capacity` heap bytes (so ASan's redzones sit
// right after the last byte) are shared by an honest producer and an honest consumer, as two
// processes share a segment. The input is a script: reserve + fill, commit, peek + read,
// release, the waiters' writable/readable, the frame check of a peeked record, and the
// attacker's moves: any head or tail, any bytes anywhere in the data, a forged record length
// where the consumer reads next. Properties:
//   - never an access outside the region (ASan), never a span outside it or longer than the
//     message limit, never a hang (libFuzzer's -timeout);
//   - a bad shared value is an Error, not a crash;
//   - while the attacker has done nothing, the consumer gets exactly the committed records, in
//     order, and no call fails (so the bounds checks do not reject honest traffic).
#include <memory>
#include <optional>
#include <vector>

#include "harness/transport/frame.h"
#include "harness/transport/ring.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/ring_script.h"

namespace ipcb::fuzz {
namespace {

struct Shared {
  explicit Shared(size_t capacity)
      : control(std::make_unique<RingControl>()), data(selftest() ? capacity - 8 : capacity) {}
  std::unique_ptr<RingControl> control;  // value-initialised: head = tail = 0
  Region data;  // bytes really there: the capacity, but for the planted bug of selftest()
};

class RingScript : private HonestSides {
 public:
  RingScript(Input& in, size_t capacity, size_t max_message)
      : in_(in),
        capacity_(capacity),
        max_message_(max_message),
        mem_(capacity),
        producer_(mem_.control.get(), mem_.data.data(), capacity, max_message),
        consumer_(mem_.control.get(), mem_.data.data(), capacity, max_message),
        source_(max_message >= sizeof(FrameHeader) ? max_message - sizeof(FrameHeader) : 0),
        checker_(source_, VerifyMode::kFull) {}

  void run() {
    // The input picks one a step; reserve, peek and the attacker more often than the rest.
    static constexpr void (RingScript::*kOps[])() = {
        &RingScript::reserve, &RingScript::reserve, &RingScript::commit, &RingScript::peek,
        &RingScript::peek,    &RingScript::release, &RingScript::probe,  &RingScript::check_frame,
        &RingScript::attack,  &RingScript::attack,  &RingScript::attack};
    run_steps(in_, *this, kOps);
  }

 private:
  void reserve() {
    size_t len = in_.u16() % (max_message_ + 9);  // now and then beyond the limit
    auto r = producer_.try_reserve(len);
    if (!r) {
      FUZZ_CHECK(tampered_ || len > max_message_);
      reserved_.reset();
      return;
    }
    FUZZ_CHECK(len <= max_message_);
    if (!*r) {
      reserved_.reset();
      return;
    }
    reserved(in_, **r, len, mem_.data.holds(**r));
  }

  void commit() {
    HonestSides::commit([&] { producer_.commit(); });
  }

  void peek() {
    auto r = consumer_.try_peek();
    peeked_.reset();
    if (!r) {
      FUZZ_CHECK(tampered_);  // an Error only for a real anomaly
      return;
    }
    if (!*r) {
      FUZZ_CHECK(tampered_ || committed_.empty());
      return;
    }
    FUZZ_CHECK((**r).size() <= max_message_);
    peeked(**r, mem_.data.holds(**r));
  }

  void release() {
    HonestSides::release([&] { consumer_.release(); });
  }

  void probe() {
    bool readable = consumer_.readable();
    if (!tampered_) FUZZ_CHECK(readable == !committed_.empty());
    (void)producer_.writable(in_.u16() % (max_message_ + 1));
  }

  // The receiver copies a record out and checks its frame: any bytes are a verdict, not a crash.
  void check_frame() {
    if (!peeked_) return;
    std::vector<std::byte> copy(peeked_->begin(), peeked_->end());
    uint64_t before = checker_.verified() + checker_.errors();
    (void)read_header(copy);
    (void)checker_.check(copy);
    FUZZ_CHECK(checker_.verified() + checker_.errors() == before + 1);
  }

  void attack() {
    tampered_ = true;
    RingControl& c = *mem_.control;
    switch (in_.u8() % 4) {
      case 0:
        c.head.store(in_.position_near(c.head.load(), capacity_));
        break;
      case 1:
        c.tail.store(in_.position_near(c.tail.load(), capacity_));
        break;
      case 2:  // any bytes anywhere in the data
        mem_.data.scribble(in_, in_.u16() % mem_.data.size());
        break;
      default: {  // a forged length (or wrap marker) where the consumer reads next
        size_t off = (c.tail.load() + 8 * (in_.u8() % 4)) & (capacity_ - 1) & ~size_t{7};
        uint32_t len = in_.u8() % 2 ? Ring::kWrapMarker - (in_.u8() % 2) : in_.u32();
        if (off + sizeof len <= mem_.data.size())
          std::memcpy(mem_.data.data() + off, &len, sizeof len);
        break;
      }
    }
  }

  Input& in_;
  size_t capacity_;
  size_t max_message_;
  Shared mem_;
  Ring producer_;
  Ring consumer_;
  PayloadSource source_;
  FrameChecker checker_;
};

}  // namespace

void ring(Input& in) {
  // Small rings (64 B .. 4 KiB) wrap within a few records; the message limit is anything up to
  // what the constructor accepts (record_bytes(max) <= capacity / 2).
  size_t capacity = size_t{64} << (in.u8() % 7);
  size_t max_message = in.u16() % (capacity / 2 - Ring::kRecordHeader + 1);
  RingScript(in, capacity, max_message).run();
}

}  // namespace ipcb::fuzz
