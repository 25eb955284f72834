// Fuzz target: the slot ring of the shared-memory channels (harness/transport/slot_ring.h) with an
// attacker between every operation.
//
// One SlotCredit and a data region of exactly slots * slot_bytes heap bytes (ASan's redzones
// right after it) are shared by an honest producer and an honest consumer. The input is a
// script: reserve + fill, commit, peek + read, release, the waiters' writable/readable, and
// the attacker's moves: any credit, any stamp of any slot (the consumer's next one most often),
// any bytes anywhere. Properties:
//   - never an access outside the region (ASan), never a span outside it or of another length
//     than the message, never a hang;
//   - a bad shared value is an Error, not a crash;
//   - while the attacker has done nothing, the consumer gets exactly the committed messages, in
//     order, no call fails, and a stale slot (the previous lap's) is never delivered.
#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "harness/transport/slot_ring.h"
#include "tests/fuzz/fuzz_input.h"

namespace ipcb::fuzz {
namespace {

constexpr int kMaxSteps = 4096;

class SlotScript {
 public:
  SlotScript(Input& in, size_t slots, size_t message)
      : in_(in),
        slots_(slots),
        message_(message),
        bytes_(slots * SlotRing::slot_bytes_for(message)),
        credit_(std::make_unique<SlotCredit>()),
        data_(make_region(bytes_)),
        producer_(credit_.get(), data_.get(), slots, message),
        consumer_(credit_.get(), data_.get(), slots, message) {}

  void run() {
    for (int step = 0; step < kMaxSteps && !in_.empty(); ++step) {
      switch (in_.u8() % 8) {
        case 0:
          reserve();
          break;
        case 1:
          commit();
          break;
        case 2:
          peek();
          break;
        case 3:
          release();
          break;
        case 4:
          probe();
          break;
        default:
          attack();
          break;
      }
    }
  }

 private:
  // 64-byte aligned (the slots' stamps are atomics), zeroed, exactly `n` usable bytes.
  static std::unique_ptr<std::byte[], void (*)(std::byte*)> make_region(size_t n) {
    auto* p = static_cast<std::byte*>(::operator new[](n, std::align_val_t{64}));
    std::memset(p, 0, n);
    return {p, [](std::byte* q) { ::operator delete[](q, std::align_val_t{64}); }};
  }
  bool in_region(std::span<const std::byte> s) const {
    return inside(s.data(), s.size(), data_.get(), bytes_);
  }

  void reserve() {
    auto r = producer_.try_reserve();
    reserved_.reset();
    if (!r) {
      FUZZ_CHECK(tampered_);
      return;
    }
    if (!*r) {
      FUZZ_CHECK(tampered_ || committed_.size() >= slots_ || !credit_caught_up());
      return;
    }
    std::span<std::byte> slot = **r;
    FUZZ_CHECK(slot.size() == message_);
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
    if (peeked_) return;  // the consumer's contract: one message at a time
    auto r = consumer_.try_peek();
    if (!r) {
      FUZZ_CHECK(tampered_);
      return;
    }
    if (!*r) {
      FUZZ_CHECK(tampered_ || committed_.empty());
      return;
    }
    std::span<const std::byte> msg = **r;
    FUZZ_CHECK(msg.size() == message_);
    FUZZ_CHECK(in_region(msg));
    (void)read_all(msg);
    if (!tampered_) {
      FUZZ_CHECK(!committed_.empty());
      FUZZ_CHECK(
          std::equal(msg.begin(), msg.end(), committed_.front().begin(), committed_.front().end()));
    }
    peeked_ = msg;
  }

  void release() {
    if (!peeked_) return;
    (void)consumer_.release();
    if (!tampered_) {
      committed_.pop_front();
      ++consumed_;
    }
    peeked_.reset();
  }

  void probe() {
    bool readable = consumer_.readable();
    if (!tampered_ && !peeked_) FUZZ_CHECK(readable == !committed_.empty());
    (void)producer_.writable();
  }

  // Credits are published lazily: the producer may see fewer free slots than there are.
  bool credit_caught_up() const { return credit_->released.load() == consumed_; }

  void attack() {
    tampered_ = true;
    const size_t slot_bytes = SlotRing::slot_bytes_for(message_);
    switch (in_.u8() % 4) {
      case 0:
        credit_->released.store(in_.position_near(credit_->released.load(), slots_));
        break;
      case 1: {  // the stamp of the consumer's next slot, or of any slot
        size_t slot = in_.u8() % 2 ? consumed_ % slots_ : in_.u16() % slots_;
        uint64_t v = in_.position_near(consumed_ + 1, slots_);
        std::memcpy(data_.get() + slot * slot_bytes + SlotRing::stamp_offset_for(message_), &v,
                    sizeof v);
        break;
      }
      default: {  // any bytes anywhere in the data
        size_t off = in_.u32() % bytes_;
        auto src = in_.bytes(in_.u8() % 16 + 1);
        size_t n = std::min(src.size(), bytes_ - off);
        std::memcpy(data_.get() + off, src.data(), n);
        break;
      }
    }
  }

  Input& in_;
  size_t slots_;
  size_t message_;
  size_t bytes_;
  std::unique_ptr<SlotCredit> credit_;
  std::unique_ptr<std::byte[], void (*)(std::byte*)> data_;
  SlotRing producer_;
  SlotRing consumer_;
  bool tampered_ = false;
  uint64_t consumed_ = 0;
  std::optional<std::vector<std::byte>> reserved_;
  std::optional<std::span<const std::byte>> peeked_;
  std::deque<std::vector<std::byte>> committed_;
};

}  // namespace

void slot_ring(Input& in) {
  // 2 .. 64 slots, messages of 1 .. 600 bytes: laps come every few messages.
  size_t slots = size_t{2} << (in.u8() % 6);
  size_t message = 1 + in.u16() % 600;
  SlotScript(in, slots, message).run();
}

}  // namespace ipcb::fuzz
