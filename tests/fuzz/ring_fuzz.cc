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
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "harness/transport/frame.h"
#include "harness/transport/ring.h"
#include "tests/fuzz/fuzz_input.h"

namespace ipcb::fuzz {
namespace {

constexpr int kMaxSteps = 4096;  // bounds the work of one input whatever its length

struct Shared {
  explicit Shared(size_t capacity)
      : size(selftest() ? capacity - 8 : capacity),
        control(std::make_unique<RingControl>()),
        data(new std::byte[size]()) {}
  size_t size;  // bytes really there: the capacity, but for the planted bug of selftest()
  std::unique_ptr<RingControl> control;  // value-initialised: head = tail = 0
  std::unique_ptr<std::byte[]> data;
};

class RingScript {
 public:
  RingScript(Input& in, size_t capacity, size_t max_message)
      : in_(in),
        capacity_(capacity),
        max_message_(max_message),
        mem_(capacity),
        producer_(mem_.control.get(), mem_.data.get(), capacity, max_message),
        consumer_(mem_.control.get(), mem_.data.get(), capacity, max_message),
        source_(max_message >= sizeof(FrameHeader) ? max_message - sizeof(FrameHeader) : 0),
        checker_(source_, VerifyMode::kFull) {}

  void run() {
    for (int step = 0; step < kMaxSteps && !in_.empty(); ++step) {
      switch (in_.u8() % 11) {
        case 0:
        case 1:
          reserve();
          break;
        case 2:
          commit();
          break;
        case 3:
        case 4:
          peek();
          break;
        case 5:
          release();
          break;
        case 6:
          probe();
          break;
        case 7:
          check_frame();
          break;
        default:
          attack();
          break;
      }
    }
  }

 private:
  bool in_region(std::span<const std::byte> s) const {
    return inside(s.data(), s.size(), mem_.data.get(), mem_.size);
  }

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
    std::span<std::byte> slot = **r;
    FUZZ_CHECK(slot.size() == len);
    FUZZ_CHECK(in_region(slot));
    fill(in_, slot);
    reserved_ = std::vector<std::byte>(slot.begin(), slot.end());
  }

  void commit() {
    if (!reserved_) return;  // the producer's contract: commit only a reserved slot
    producer_.commit();
    committed_.push_back(std::move(*reserved_));
    reserved_.reset();
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
    std::span<const std::byte> rec = **r;
    FUZZ_CHECK(rec.size() <= max_message_);
    FUZZ_CHECK(in_region(rec));
    (void)read_all(rec);
    if (!tampered_) {
      FUZZ_CHECK(!committed_.empty());
      FUZZ_CHECK(
          std::equal(rec.begin(), rec.end(), committed_.front().begin(), committed_.front().end()));
    }
    peeked_ = rec;
  }

  void release() {
    if (!peeked_) return;  // the consumer's contract: release only a peeked record
    consumer_.release();
    if (!tampered_) committed_.pop_front();
    peeked_.reset();
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
      case 2: {  // any bytes anywhere in the data
        size_t off = in_.u16() % mem_.size;
        auto src = in_.bytes(in_.u8() % 16 + 1);
        size_t n = src.size() < mem_.size - off ? src.size() : mem_.size - off;
        std::memcpy(mem_.data.get() + off, src.data(), n);
        break;
      }
      default: {  // a forged length (or wrap marker) where the consumer reads next
        size_t off = (c.tail.load() + 8 * (in_.u8() % 4)) & (capacity_ - 1) & ~size_t{7};
        uint32_t len = in_.u8() % 2 ? Ring::kWrapMarker - (in_.u8() % 2) : in_.u32();
        if (off + sizeof len <= mem_.size) std::memcpy(mem_.data.get() + off, &len, sizeof len);
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
  bool tampered_ = false;
  std::optional<std::vector<std::byte>> reserved_;
  std::optional<std::span<const std::byte>> peeked_;
  std::deque<std::vector<std::byte>> committed_;  // what the consumer must get, while honest
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
