// Endpoint's fast path on slot rings, as pingpong uses it: the peer's recv_echo sends a data
// message straight back before checking it, and checks it after; a message that is not data is
// returned unanswered; one whose shape is wrong is an error naming the field, and nothing is
// echoed. One thread plays both sides over two rings in ordinary memory.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "harness/sys/sys.h"
#include "harness/transport/endpoint.h"
#include "harness/transport/slot_ring.h"

namespace ipcb {
namespace {

constexpr size_t kPayload = 24;  // header + payload share the stamp's line
constexpr size_t kMessage = sizeof(FrameHeader) + kPayload;
constexpr size_t kSlots = 8;

// Two rings, one each way; the general calls (used when the fast path cannot go on) do what
// they can at once and fail instead of waiting, so a test sees when nothing was there.
struct Rings {
  struct Ring {
    Ring() : mem(kSlots * SlotRing::slot_bytes_for(kMessage) + 64) {}
    std::vector<std::byte> mem;
    SlotCredit credit{};
    std::byte* data() {
      return reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(mem.data()) + 63) & ~63ULL);
    }
  };
  class Side final : public Channel {
   public:
    Side(Ring& out, Ring& in)
        : tx_(&out.credit, out.data(), kSlots, kMessage),
          rx_(&in.credit, in.data(), kSlots, kMessage) {}
    bool spin = false;  // what polling_rings says: a spin waiter's (recv_batched waits on those)
    Status send(const FrameHeader& h, std::span<const std::byte> payload) override {
      IPCB_TRY(auto slot, reserve_send());
      std::memcpy(slot.data(), &h, sizeof h);
      std::memcpy(slot.data() + sizeof h, payload.data(), payload.size());
      commit_send();
      return ok_status();
    }
    Result<size_t> recv(std::span<std::byte> buf) override {
      IPCB_TRY(auto msg, peek_recv());
      std::memcpy(buf.data(), msg.data(), msg.size());
      release_recv();
      return msg.size();
    }
    bool supports_inplace() const override { return true; }
    Result<std::span<std::byte>> reserve_send() override {
      IPCB_TRY(auto slot, tx_.try_reserve());
      if (!slot) return left();
      return *slot;
    }
    void commit_send() override { tx_.commit(); }
    Result<std::span<const std::byte>> peek_recv() override {
      IPCB_TRY(auto msg, rx_.try_peek());
      if (!msg) return left();
      return *msg;
    }
    void release_recv() override { rx_.release(); }
    PollingRings polling_rings() override { return {&tx_, &rx_, spin}; }
    SlotRing& rx() { return rx_; }

   private:
    static Error left() { return plain_error("test channel", "nothing there"); }
    SlotRing tx_, rx_;
  };
  Ring ab, ba;
  Side a{ab, ba}, b{ba, ab};
  // The slot of message `pos` sent from a to b (from b to a).
  std::byte* ab_slot(size_t pos) {
    return ab.data() + (pos % kSlots) * SlotRing::slot_bytes_for(kMessage) +
           SlotRing::message_offset_for(kMessage);
  }
  std::byte* ba_slot(size_t pos) {
    return ba.data() + (pos % kSlots) * SlotRing::slot_bytes_for(kMessage) +
           SlotRing::message_offset_for(kMessage);
  }
};

// Changes the header of the message at `msg` with `change(FrameHeader&)`.
template <typename Change>
void edit_header(std::byte* msg, Change&& change) {
  FrameHeader h;
  std::memcpy(&h, msg, sizeof h);
  change(h);
  std::memcpy(msg, &h, sizeof h);
}

class RecvEcho : public ::testing::TestWithParam<CopyMode> {
 protected:
  Rings r;
  Endpoint a{r.a, kPayload, VerifyMode::kFull, GetParam()};
  Endpoint b{r.b, kPayload, VerifyMode::kFull, GetParam()};
};

TEST_P(RecvEcho, EchoesEachDataMessageAtOnceAndChecksItAfter) {
  for (uint64_t i = 0; i < 3 * kSlots; ++i) {  // several laps of both rings
    ASSERT_TRUE(a.send(kFrameData).ok());
    auto h = b.recv_echo();
    ASSERT_TRUE(h.ok()) << h.error().message();
    EXPECT_EQ(h->seq, i);
    EXPECT_EQ(h->flags, kFrameData);
    EXPECT_EQ(b.checker().verified(), i) << "the check follows the echo";
    ASSERT_TRUE(b.finish_check().ok());
    EXPECT_EQ(b.last_fault(), FrameFault::kNone);
    EXPECT_EQ(b.checker().verified(), i + 1);
    auto e = a.recv();  // the echo: our payload, the peer's sequence number
    ASSERT_TRUE(e.ok()) << e.error().message();
    EXPECT_EQ(e->seq, i);
    EXPECT_EQ(a.last_fault(), FrameFault::kNone);
  }
  EXPECT_EQ(a.checker().verified(), 3 * kSlots);
  EXPECT_EQ(a.checker().errors() + b.checker().errors(), 0u);
}

TEST_P(RecvEcho, AChangedPayloadIsEchoedThenCountedByBothSides) {
  ASSERT_TRUE(a.send(kFrameData).ok());
  r.ab_slot(0)[sizeof(FrameHeader) + kPayload - 1] ^= std::byte{1};
  auto h = b.recv_echo();
  ASSERT_TRUE(h.ok()) << h.error().message();
  ASSERT_TRUE(b.finish_check().ok());  // a checksum fault is counted, not an Error
  EXPECT_EQ(b.last_fault(), FrameFault::kChecksum);
  EXPECT_EQ(b.checker().errors(), 1u);
  auto e = a.recv();
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(a.last_fault(), FrameFault::kChecksum) << "the echo carried the changed byte back";
}

TEST_P(RecvEcho, AMessageThatIsNotDataIsReturnedUnanswered) {
  ASSERT_TRUE(a.send(kFrameSync).ok());
  auto h = b.recv_echo();
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->flags, kFrameSync);
  EXPECT_EQ(b.sent(), 0u);
  EXPECT_EQ(r.a.rx().peek_now(), nullptr) << "nothing was echoed";
}

TEST_P(RecvEcho, AWrongShapeIsAnErrorNamingTheFieldAndNothingIsEchoed) {
  for (int field = 0; field < 2; ++field) {
    Rings fresh;
    Endpoint tx(fresh.a, kPayload, VerifyMode::kFull, GetParam());
    Endpoint rx(fresh.b, kPayload, VerifyMode::kFull, GetParam());
    ASSERT_TRUE(tx.send(kFrameData).ok());
    FrameHeader h;
    std::memcpy(&h, fresh.ab_slot(0), sizeof h);
    if (field == 0) {
      h.flags = 32;  // no frame carries it
    } else {
      h.payload_bytes = kPayload + 1;
    }
    std::memcpy(fresh.ab_slot(0), &h, sizeof h);
    auto got = rx.recv_echo();
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.error().message().find(field == 0 ? "flags" : "payload_bytes"), std::string::npos)
        << got.error().message();
    EXPECT_EQ(rx.sent(), 0u);
    EXPECT_EQ(fresh.a.rx().peek_now(), nullptr) << "nothing was echoed";
  }
}

TEST_P(RecvEcho, WithNothingThereItWaitsTheGeneralWay) {
  auto h = b.recv_echo();
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message().find("nothing there"), std::string::npos) << h.error().message();
}

// The measured side's receive in two parts: recv_fast takes and checks a message that is
// there; what it cannot finish (nothing there, a check that failed) recv_rest does.
TEST_P(RecvEcho, RecvFastTakesWhatIsThereAndLeavesTheRestToRecvRest) {
  EXPECT_EQ(a.recv_fast(), Endpoint::Fast::kWait) << "nothing sent yet";
  auto nothing = a.recv_rest(Endpoint::Fast::kWait);
  ASSERT_FALSE(nothing.ok()) << "the general way was taken, and found nothing";
  EXPECT_NE(nothing.error().message().find("nothing there"), std::string::npos);
  for (uint64_t i = 0; i < 2 * kSlots; ++i) {
    ASSERT_TRUE(a.send(kFrameData).ok());
    ASSERT_TRUE(b.recv_echo().ok());
    ASSERT_EQ(a.recv_fast(), Endpoint::Fast::kDone) << "message " << i;
    EXPECT_EQ(a.last_fault(), FrameFault::kNone);
  }
  EXPECT_EQ(a.checker().verified(), 2 * kSlots);
  // An echo whose payload changed on the way: judged by recv_rest, counted, not an Error.
  ASSERT_TRUE(a.send(kFrameData).ok());
  ASSERT_TRUE(b.recv_echo().ok());
  r.ba_slot(2 * kSlots)[sizeof(FrameHeader)] ^= std::byte{0x80};
  const Endpoint::Fast f = a.recv_fast();
  ASSERT_EQ(f, Endpoint::Fast::kJudge);
  ASSERT_TRUE(a.recv_rest(f).ok());
  EXPECT_EQ(a.last_fault(), FrameFault::kChecksum);
  EXPECT_EQ(a.checker().errors(), 1u);
  // A sequence number that jumps breaks the protocol: an Error naming it.
  ASSERT_TRUE(a.send(kFrameData).ok());
  ASSERT_TRUE(b.recv_echo().ok());
  edit_header(r.ba_slot(2 * kSlots + 1), [](FrameHeader& h) { h.seq += 5; });
  const Endpoint::Fast g = a.recv_fast();
  ASSERT_EQ(g, Endpoint::Fast::kJudge);
  auto st = a.recv_rest(g);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("seq"), std::string::npos) << st.error().message();
}

// pingpong's measured side with a small payload: recv_fast_check_later takes the echo and checks
// its shape at once, its order and content at finish_check (after the next send); every fault
// is still counted or named there.
TEST_P(RecvEcho, RecvFastCheckLaterChecksShapeNowAndTheRestAtFinishCheck) {
  EXPECT_EQ(a.recv_fast_check_later(), Endpoint::Fast::kWait) << "nothing sent yet";
  for (uint64_t i = 0; i < 2 * kSlots; ++i) {  // two laps: in place, each slot is freed again
    ASSERT_TRUE(a.send(kFrameData).ok());
    ASSERT_TRUE(b.recv_echo().ok());
    ASSERT_TRUE(b.finish_check().ok());
    ASSERT_EQ(a.recv_fast_check_later(), Endpoint::Fast::kDone) << "message " << i;
    EXPECT_EQ(a.checker().verified(), i) << "not checked yet";
    ASSERT_TRUE(a.finish_check().ok());
    EXPECT_EQ(a.last_fault(), FrameFault::kNone);
    EXPECT_EQ(a.checker().verified(), i + 1);
  }
  // A changed payload byte passes the shape check, then is counted at finish_check.
  uint64_t pos = 2 * kSlots;
  ASSERT_TRUE(a.send(kFrameData).ok());
  ASSERT_TRUE(b.recv_echo().ok());
  ASSERT_TRUE(b.finish_check().ok());
  r.ba_slot(pos)[sizeof(FrameHeader) + kPayload - 1] ^= std::byte{0x40};
  ASSERT_EQ(a.recv_fast_check_later(), Endpoint::Fast::kDone);
  ASSERT_TRUE(a.finish_check().ok());  // a checksum fault is counted, not an Error
  EXPECT_EQ(a.last_fault(), FrameFault::kChecksum);
  EXPECT_EQ(a.checker().errors(), 1u);
  // A sequence number that jumps: an Error naming it, at finish_check.
  ++pos;
  ASSERT_TRUE(a.send(kFrameData).ok());
  ASSERT_TRUE(b.recv_echo().ok());
  ASSERT_TRUE(b.finish_check().ok());
  edit_header(r.ba_slot(pos), [](FrameHeader& h) { h.seq += 3; });
  ASSERT_EQ(a.recv_fast_check_later(), Endpoint::Fast::kDone);
  auto st = a.finish_check();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("seq"), std::string::npos) << st.error().message();
}

// A shape the protocol cannot act on is not left for later: recv_rest names it at once.
TEST_P(RecvEcho, RecvFastCheckLaterJudgesAWrongShapeAtOnce) {
  ASSERT_TRUE(a.send(kFrameData).ok());
  ASSERT_TRUE(b.recv_echo().ok());
  ASSERT_TRUE(b.finish_check().ok());
  edit_header(r.ba_slot(0), [](FrameHeader& h) { h.flags = 32; });  // no frame carries it
  const Endpoint::Fast f = a.recv_fast_check_later();
  ASSERT_EQ(f, Endpoint::Fast::kJudge);
  auto st = a.recv_rest(f);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("flags"), std::string::npos) << st.error().message();
}

TEST_P(RecvEcho, RecvBatchedReadsWhatItSawWrittenThenWaitsForTheNextBatch) {
  Rings spinning;
  spinning.b.spin = true;  // before the endpoints read polling_rings
  Endpoint tx{spinning.a, kPayload, VerifyMode::kFull, GetParam()};
  Endpoint rx{spinning.b, kPayload, VerifyMode::kFull, GetParam()};
  const uint64_t batch = spinning.b.rx().batch_messages();
  ASSERT_EQ(batch, 2u);  // a quarter of the ring
  uint64_t seq = 0;
  // Over several laps: a producer a batch ahead is read without a wait until every message the
  // consumer saw written is read; then it looks again, and reads the next batch, checked as recv
  // checks them.
  for (int lap = 0; lap < 3; ++lap) {
    for (uint64_t i = 0; i < batch; ++i) ASSERT_TRUE(tx.send(kFrameData).ok());
    for (uint64_t i = 0; i < batch; ++i) {
      auto h = rx.recv_batched();
      ASSERT_TRUE(h.ok()) << h.error().message();
      EXPECT_EQ(h->seq, seq++);
      EXPECT_EQ(rx.last_batch_wait(),
                i == 0 ? Endpoint::BatchWait::kBatch : Endpoint::BatchWait::kNone)
          << "lap " << lap << " message " << i;
    }
  }
  EXPECT_EQ(rx.checker().verified(), seq);
  EXPECT_EQ(rx.checker().errors(), 0u);
  // Less than a batch there, and the producer writes nothing more (it waits for an answer): after
  // the stall time the consumer reads the one message it saw.
  ASSERT_TRUE(tx.send(kFrameData).ok());
  uint64_t t0 = sys::now_ns();
  auto one = rx.recv_batched();
  ASSERT_TRUE(one.ok()) << one.error().message();
  EXPECT_EQ(one->seq, seq++);
  EXPECT_EQ(rx.last_batch_wait(), Endpoint::BatchWait::kStalled);
  EXPECT_GE(sys::now_ns() - t0, spinning.b.rx().batch_stall_ns());
  // Caught up: it waits again; nothing comes, so after the stall time it goes the general way
  // (which here fails at once instead of waiting).
  t0 = sys::now_ns();
  EXPECT_FALSE(rx.recv_batched().ok());
  EXPECT_EQ(rx.last_batch_wait(), Endpoint::BatchWait::kStalled);
  EXPECT_GE(sys::now_ns() - t0, spinning.b.rx().batch_stall_ns());
  // A ring that does not spin (a blocking waiter's): no wait.
  Endpoint blocking{r.b, kPayload, VerifyMode::kFull, GetParam()};
  EXPECT_FALSE(blocking.recv_batched().ok());
  EXPECT_EQ(blocking.last_batch_wait(), Endpoint::BatchWait::kNone);
  // A sync among a batch is returned to the caller; a changed payload is still counted.
  ASSERT_TRUE(tx.send(kFrameSync).ok());
  ASSERT_TRUE(tx.send(kFrameData).ok());
  std::byte* slot = spinning.ab.data() + ((seq + 1) % kSlots) * SlotRing::slot_bytes_for(kMessage) +
                    SlotRing::message_offset_for(kMessage);
  slot[sizeof(FrameHeader)] ^= std::byte{0x80};
  auto s = rx.recv_batched();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->flags, kFrameSync);
  EXPECT_EQ(rx.last_batch_wait(), Endpoint::BatchWait::kBatch);
  auto changed = rx.recv_batched();
  ASSERT_TRUE(changed.ok()) << changed.error().message();
  EXPECT_EQ(rx.last_batch_wait(), Endpoint::BatchWait::kNone);
  EXPECT_EQ(rx.last_fault(), FrameFault::kChecksum);
}

// A hostile producer that writes only the last stamp of a batch: the wait takes it for a batch,
// but the next message's own stamp is still checked when it is taken, so nothing unwritten is read
// or counted (the general way takes over; here it fails at once instead of waiting).
TEST_P(RecvEcho, RecvBatchedChecksEveryStampOfABatchItSawWritten) {
  Rings spinning;
  spinning.b.spin = true;
  Endpoint rx{spinning.b, kPayload, VerifyMode::kFull, GetParam()};
  const uint64_t last = spinning.b.rx().batch_messages() - 1;
  ASSERT_GE(last, 1u);
  std::byte* stamp = spinning.ab.data() + last * SlotRing::slot_bytes_for(kMessage) +
                     SlotRing::stamp_offset_for(kMessage);
  const uint64_t forged = last + 1;  // what the producer stores once position `last` is written
  std::memcpy(stamp, &forged, sizeof forged);
  EXPECT_FALSE(rx.recv_batched().ok());
  EXPECT_EQ(rx.last_batch_wait(), Endpoint::BatchWait::kBatch);
  EXPECT_EQ(rx.checker().verified(), 0u);
  EXPECT_EQ(rx.bytes_received(), 0u);
}

// A stream sink's per-message call: a message there and intact is taken inline (kDone, its header
// returned); nothing there is kWait and one that fails its check is kJudge, and
// recv_batched_rest then goes the general way (here: fails at once) or judges it (counts the
// changed payload, returns its header).
TEST_P(RecvEcho, RecvBatchedFastTakesAnIntactMessageAndLeavesTheRestToRecvBatchedRest) {
  for (uint64_t i = 0; i < 2 * kSlots; ++i) {
    ASSERT_TRUE(a.send(kFrameData, 1000 + i).ok());
    FrameHeader h{};
    ASSERT_EQ(b.recv_batched_fast(h), Endpoint::Fast::kDone);
    EXPECT_EQ(h.seq, i);
    EXPECT_EQ(h.send_ns, 1000 + i);
    EXPECT_EQ(b.last_fault(), FrameFault::kNone);
  }
  EXPECT_EQ(b.checker().verified(), 2 * kSlots);
  FrameHeader h{};
  const Endpoint::Fast none = b.recv_batched_fast(h);
  EXPECT_EQ(none, Endpoint::Fast::kWait);
  EXPECT_FALSE(b.recv_batched_rest(none).ok());
  // kDone leaves nothing to go on with: not a second receive.
  ASSERT_TRUE(a.send(kFrameData).ok());
  ASSERT_EQ(b.recv_batched_fast(h), Endpoint::Fast::kDone);
  EXPECT_FALSE(b.recv_batched_rest(Endpoint::Fast::kDone).ok());
  EXPECT_EQ(b.checker().verified(), 2 * kSlots + 1);
  ASSERT_TRUE(a.send(kFrameData).ok());
  r.ab_slot(2 * kSlots + 1)[sizeof(FrameHeader)] ^= std::byte{0x01};
  const Endpoint::Fast changed = b.recv_batched_fast(h);
  EXPECT_EQ(changed, Endpoint::Fast::kJudge);
  auto judged = b.recv_batched_rest(changed);
  ASSERT_TRUE(judged.ok()) << judged.error().message();
  EXPECT_EQ(judged->seq, 2 * kSlots + 1);
  EXPECT_EQ(b.last_fault(), FrameFault::kChecksum);
  EXPECT_EQ(b.checker().errors(), 1u);
  // A sync is no data message: the fast path does not count it, recv_batched_rest returns it.
  ASSERT_TRUE(a.send(kFrameSync).ok());
  const Endpoint::Fast sync = b.recv_batched_fast(h);
  EXPECT_EQ(sync, Endpoint::Fast::kJudge);
  auto s = b.recv_batched_rest(sync);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->flags, kFrameSync);
}

INSTANTIATE_TEST_SUITE_P(Modes, RecvEcho, ::testing::Values(CopyMode::kCopy, CopyMode::kInplace),
                         [](const auto& info) { return std::string(copy_mode_name(info.param)); });

}  // namespace
}  // namespace ipcb
