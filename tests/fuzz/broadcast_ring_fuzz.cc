// Fuzz target: the one-producer, N-reader broadcast ring (harness/transport/broadcast_ring.h) with
// an attacker between every operation.
//
// The head, the readers' tails and exactly slots * slot_bytes of data live in separate heap
// blocks (ASan's redzones right after each). An honest producer and one honest BroadcastRing
// per reader share them; the attacker writes any head, any tail, any data bytes. Properties:
// no access or span outside the data, every span exactly message_bytes long, a bad position is
// an Error, and while the attacker has done nothing every reader gets every committed message,
// in order, and no call fails.
#include <memory>
#include <optional>
#include <vector>

#include "harness/transport/broadcast_ring.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/ring_script.h"

namespace ipcb::fuzz {
namespace {

class BroadcastScript {
 public:
  BroadcastScript(Input& in, size_t readers, size_t slots, size_t message_bytes)
      : in_(in),
        readers_(readers),
        message_bytes_(message_bytes),
        head_(std::make_unique<BroadcastPosition>()),
        tails_(std::make_unique<BroadcastPosition[]>(readers)),
        data_(slots * BroadcastRing::slot_bytes_for(message_bytes)),
        producer_(head_.get(), tails_.get(), readers, data_.data(), slots, message_bytes),
        next_(readers, 0),
        peeked_(readers, false) {
    for (size_t r = 0; r < readers; ++r) {
      readers_rings_.emplace_back(head_.get(), tails_.get(), readers, data_.data(), slots,
                                  message_bytes);
    }
  }

  void run() {
    for (int step = 0; step < kMaxSteps && !in_.empty(); ++step) {
      uint8_t op = in_.u8();
      size_t r = (op >> 4) % readers_;
      switch (op % 8) {
        case 0:
        case 1:
          reserve_and_commit();
          break;
        case 2:
        case 3:
          peek(r);
          break;
        case 4:
          release(r);
          break;
        case 5:
          (void)producer_.writable();
          (void)readers_rings_[r].readable();
          break;
        default:
          attack(r);
          break;
      }
    }
  }

 private:
  void reserve_and_commit() {
    auto slot = producer_.try_reserve();
    if (!slot) {
      FUZZ_CHECK(tampered_);
      return;
    }
    if (!*slot) return;
    FUZZ_CHECK((*slot)->size() == message_bytes_);
    FUZZ_CHECK(data_.holds(**slot));
    fill(in_, **slot);
    if (in_.u8() % 4 == 0) return;  // reserved, not (yet) committed: the next reserve reuses it
    producer_.commit();
    sent_.emplace_back((*slot)->begin(), (*slot)->end());
  }

  void peek(size_t r) {
    auto rec = readers_rings_[r].try_peek();
    peeked_[r] = false;
    if (!rec) {
      FUZZ_CHECK(tampered_);
      return;
    }
    if (!*rec) {
      FUZZ_CHECK(tampered_ || next_[r] == sent_.size());
      return;
    }
    FUZZ_CHECK((*rec)->size() == message_bytes_);
    FUZZ_CHECK(data_.holds(**rec));
    (void)read_all(**rec);
    if (!tampered_) {
      FUZZ_CHECK(next_[r] < sent_.size());
      FUZZ_CHECK(std::equal((*rec)->begin(), (*rec)->end(), sent_[next_[r]].begin(),
                            sent_[next_[r]].end()));
    }
    peeked_[r] = true;
  }

  void release(size_t r) {
    if (!peeked_[r]) return;  // a reader's contract: release only what it peeked
    readers_rings_[r].release(r);
    ++next_[r];
    peeked_[r] = false;
  }

  void attack(size_t r) {
    tampered_ = true;
    switch (in_.u8() % 3) {
      case 0:
        head_->value.store(in_.position_near(head_->value.load(), 8));
        break;
      case 1:
        tails_[r].value.store(in_.position_near(tails_[r].value.load(), 8));
        break;
      default:
        if (data_.size() != 0) data_.scribble(in_, in_.u16() % data_.size());
        break;
    }
  }

  Input& in_;
  size_t readers_;
  size_t message_bytes_;
  std::unique_ptr<BroadcastPosition> head_;
  std::unique_ptr<BroadcastPosition[]> tails_;
  Region data_;
  BroadcastRing producer_;
  std::vector<BroadcastRing> readers_rings_;
  bool tampered_ = false;
  std::vector<std::vector<std::byte>> sent_;  // every committed message, while honest
  std::vector<size_t> next_;                  // per reader: the index in sent_ it reads next
  std::vector<bool> peeked_;
};

}  // namespace

void broadcast_ring(Input& in) {
  size_t readers = 1 + in.u8() % 4;
  size_t slots = 1 + in.u8() % 8;
  size_t message_bytes = in.u16() % 300;
  BroadcastScript(in, readers, slots, message_bytes).run();
}

}  // namespace ipcb::fuzz
