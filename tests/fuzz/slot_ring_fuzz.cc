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
#include <cstring>
#include <memory>
#include <vector>

#include "harness/transport/slot_ring.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/ring_script.h"

namespace ipcb::fuzz {
namespace {

class SlotScript : private HonestSides {
 public:
  SlotScript(Input& in, size_t slots, size_t message)
      : in_(in),
        slots_(slots),
        message_(message),
        credit_(std::make_unique<SlotCredit>()),
        data_(slots * SlotRing::slot_bytes_for(message), 64),  // the stamps are atomics
        producer_(credit_.get(), data_.data(), slots, message),
        consumer_(credit_.get(), data_.data(), slots, message) {}

  void run() {
    // The input picks one a step; the attacker more often than each of the others.
    static constexpr void (SlotScript::*kOps[])() = {
        &SlotScript::reserve, &SlotScript::commit, &SlotScript::peek,   &SlotScript::release,
        &SlotScript::probe,   &SlotScript::attack, &SlotScript::attack, &SlotScript::attack};
    run_steps(in_, *this, kOps);
  }

 private:
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
    reserved(in_, **r, message_, data_.holds(**r));
  }

  void commit() {
    HonestSides::commit([&] { producer_.commit(); });
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
    FUZZ_CHECK((**r).size() == message_);
    peeked(**r, data_.holds(**r));
  }

  void release() {
    if (HonestSides::release([&] { (void)consumer_.release(); })) ++consumed_;
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
        std::memcpy(data_.data() + slot * slot_bytes + SlotRing::stamp_offset_for(message_), &v,
                    sizeof v);
        break;
      }
      default:  // any bytes anywhere in the data
        data_.scribble(in_, in_.u32() % data_.size());
        break;
    }
  }

  Input& in_;
  size_t slots_;
  size_t message_;
  std::unique_ptr<SlotCredit> credit_;
  Region data_;
  SlotRing producer_;
  SlotRing consumer_;
  uint64_t consumed_ = 0;
};

}  // namespace

void slot_ring(Input& in) {
  // 2 .. 64 slots, messages of 1 .. 600 bytes: laps come every few messages.
  size_t slots = size_t{2} << (in.u8() % 6);
  size_t message = 1 + in.u16() % 600;
  SlotScript(in, slots, message).run();
}

}  // namespace ipcb::fuzz
