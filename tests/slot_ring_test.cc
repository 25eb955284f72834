// Slot ring: wrap-around over many laps, full and empty, random interleavings against a
// reference queue, lazy credits, and hostile shared state (stamps of a wrong lap, a credit that
// runs ahead or goes back): an error, never an out-of-bounds access or a stale message.
#include "harness/transport/slot_ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <vector>

namespace ipcb {
namespace {

struct Fixture {
  Fixture(size_t slots, size_t msg)
      : mem(slots * SlotRing::slot_bytes_for(msg) + 64),
        credit(new SlotCredit{}),
        data(reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(mem.data()) + 63) & ~63ULL)),
        producer(credit.get(), data, slots, msg),
        consumer(credit.get(), data, slots, msg),
        msg_bytes(msg) {}
  std::vector<std::byte> mem;
  std::unique_ptr<SlotCredit> credit;
  std::byte* data;
  SlotRing producer;
  SlotRing consumer;
  size_t msg_bytes;

  bool push(uint8_t seed) {
    auto slot = producer.try_reserve();
    EXPECT_TRUE(slot.ok()) << slot.error().message();
    if (!slot.ok() || !*slot) return false;
    for (size_t i = 0; i < msg_bytes; ++i) (**slot)[i] = std::byte(static_cast<uint8_t>(seed + i));
    producer.commit();
    return true;
  }
  std::optional<uint8_t> pop() {
    auto m = consumer.try_peek();
    EXPECT_TRUE(m.ok()) << m.error().message();
    if (!m.ok() || !*m) return std::nullopt;
    uint8_t seed = static_cast<uint8_t>((**m)[0]);
    for (size_t i = 0; i < msg_bytes; ++i) {
      EXPECT_EQ((**m)[i], std::byte(static_cast<uint8_t>(seed + i))) << "byte " << i;
    }
    consumer.release();
    return seed;
  }
  uint64_t& stamp_of(size_t slot) {
    return *reinterpret_cast<uint64_t*>(data + slot * SlotRing::slot_bytes_for(msg_bytes) +
                                        SlotRing::stamp_offset_for(msg_bytes));
  }
};

TEST(SlotRing, SlotsAreWholeLinesAndRingsArePowersOfTwo) {
  EXPECT_EQ(SlotRing::slot_bytes_for(8), 64u);
  EXPECT_EQ(SlotRing::slot_bytes_for(56), 64u);
  EXPECT_EQ(SlotRing::slot_bytes_for(57), 128u);
  for (size_t msg : {40ul, 96ul, 4128ul, 65568ul, 1048608ul}) {
    for (bool deep : {false, true}) {
      size_t n = SlotRing::slots_for(msg, deep);
      EXPECT_EQ(n & (n - 1), 0u) << msg;
      EXPECT_GE(n, deep ? 4u : 2u) << msg;
    }
  }
  // Streams: 2 MiB of slots, or 128 slots while they fit in 8 MiB, or 8 MiB; at least 4 slots.
  auto deep_bytes = [](size_t msg) {
    return SlotRing::slots_for(msg, true) * SlotRing::slot_bytes_for(msg);
  };
  EXPECT_EQ(SlotRing::slots_for(40, true), 32768u);  // 64-byte slots: 2 MiB
  EXPECT_EQ(deep_bytes(40), 2u << 20);
  EXPECT_EQ(SlotRing::slots_for(4128, true), 512u);  // 4 KiB payloads: 2 MiB and a line a slot
  EXPECT_EQ(SlotRing::slots_for(16416, true), 128u);
  EXPECT_EQ(SlotRing::slots_for(32800, true), 128u);          // 128 slots, 4 MiB and more
  EXPECT_EQ(SlotRing::slots_for(65568, true), 128u);          // 8 MiB of slots (127.9) -> 128
  EXPECT_EQ(SlotRing::slots_for(1048608, true), 8u);          // 8 MiB of slots
  EXPECT_EQ(SlotRing::slots_for(size_t{4} << 20, true), 4u);  // at least 4
  for (size_t msg : {40ul, 96ul, 4128ul, 16416ul, 65568ul, 1048608ul}) {
    EXPECT_GE(deep_bytes(msg), 2u << 20) << msg;
    EXPECT_LE(deep_bytes(msg), 16u << 20) << msg;  // the power of two above 8 MiB at most
  }
}

TEST(SlotRing, EmptyFullAndWrapAroundOverManyLaps) {
  Fixture f(4, 100);
  EXPECT_FALSE(f.consumer.readable());
  EXPECT_FALSE(f.pop().has_value());
  uint8_t next_in = 0, next_out = 0;
  for (int lap = 0; lap < 50; ++lap) {
    while (f.push(next_in)) ++next_in;  // fills the ring
    EXPECT_FALSE(f.producer.writable());
    for (int k = 0; k < 4; ++k) {
      auto got = f.pop();
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(*got, next_out++);
    }
    EXPECT_FALSE(f.pop().has_value()) << "empty after a full lap";
  }
}

TEST(SlotRing, CreditIsPublishedOncePerHalfRing) {
  Fixture f(8, 16);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(f.push(static_cast<uint8_t>(i)));
  int published = 0;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(f.consumer.try_peek().value().has_value());
    published += f.consumer.release();
  }
  EXPECT_EQ(published, 2);
  EXPECT_EQ(f.credit->released.load(), 8u);
  EXPECT_TRUE(f.producer.writable());
}

TEST(SlotRing, RandomInterleavingsMatchAQueue) {
  std::mt19937 rng(7);
  for (int run = 0; run < 20; ++run) {
    Fixture f(size_t{1} << (1 + run % 5), 1 + (run * 37) % 300);
    std::deque<uint8_t> ref;
    uint8_t seed = 0;
    for (int step = 0; step < 5000; ++step) {
      if (rng() % 2) {
        if (f.push(seed)) ref.push_back(seed++);
      } else {
        auto got = f.pop();
        ASSERT_EQ(got.has_value(), !ref.empty());
        if (got) {
          EXPECT_EQ(*got, ref.front());
          ref.pop_front();
        }
      }
    }
  }
}

// A stamp from the previous lap (a slot not yet rewritten after wrap-around) is "not yet", never
// the old message again; a stamp of any other lap is corruption, named.
TEST(SlotRing, StampsOfOtherLapsAreStaleOrCorrupt) {
  for (size_t msg : {32ul, 100ul}) {  // the stamp first in a one-line slot, last in a longer one
    SCOPED_TRACE(msg);
    Fixture f(4, msg);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(f.push(static_cast<uint8_t>(i)));
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(f.pop().has_value());
    // Position 4 uses slot 0, whose stamp still says position 0 (the previous lap): not ready.
    EXPECT_FALSE(f.consumer.readable());
    EXPECT_FALSE(f.consumer.try_peek().value().has_value());
    for (uint64_t bad :
         {uint64_t{2}, uint64_t{3}, uint64_t{4 + 1 + 4}, ~uint64_t{0}, uint64_t{0}}) {
      f.stamp_of(0) = bad;
      auto r = f.consumer.try_peek();
      ASSERT_FALSE(r.ok()) << "stamp " << bad;
      EXPECT_NE(r.error().message().find("slot stamp"), std::string::npos) << r.error().message();
      EXPECT_TRUE(f.consumer.readable()) << "a waiter must wake to report it";
    }
  }
}

TEST(SlotRing, WrittenAheadSeesOnlyThatMessagesStampOfThisLap) {
  Fixture f(8, 100);
  EXPECT_EQ(f.consumer.batch_messages(), 2u) << "a quarter of the ring";
  EXPECT_EQ(SlotRing::batch_for(512, 4160), 128u) << "a quarter of a 2 MiB ring";
  EXPECT_EQ(SlotRing::batch_for(128, 65600), 31u) << "2 MiB of slots";
  EXPECT_EQ(SlotRing::batch_for(8, 1048640), 1u) << "at least one message";
  EXPECT_EQ(SlotRing::batch_for(2, 64), 1u) << "at least one message";
  EXPECT_FALSE(f.consumer.written_ahead(0));
  for (uint8_t i = 0; i < 3; ++i) ASSERT_TRUE(f.push(i));
  EXPECT_TRUE(f.consumer.written_ahead(0));
  EXPECT_TRUE(f.consumer.written_ahead(2));
  EXPECT_FALSE(f.consumer.written_ahead(3));
  for (int lap = 0; lap < 3; ++lap) {  // after a wrap, the previous lap's stamps are not "ahead"
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.pop().has_value());
    for (uint8_t i = 0; i < 3; ++i) ASSERT_TRUE(f.push(i));
    EXPECT_TRUE(f.consumer.written_ahead(2)) << lap;
    EXPECT_FALSE(f.consumer.written_ahead(3)) << lap;
    EXPECT_FALSE(f.consumer.written_ahead(7)) << "the slot behind the consumer, last lap's";
  }
  // Positions 9-11 are written (slots 1-3). A hostile stamp on the last reads as "not yet";
  // try_peek names it when the consumer reaches it.
  f.stamp_of(3) = 0xDEADBEEF;
  EXPECT_FALSE(f.consumer.written_ahead(2));
  EXPECT_TRUE(f.consumer.written_ahead(1));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(f.pop().has_value());
  auto m = f.consumer.try_peek();
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("stamp"), std::string::npos) << m.error().message();
}

// The stamp lies in the slot's first line when the slot is one line, in its last otherwise, and
// never inside the message: a full-length message written into a slot leaves the stamp alone.
TEST(SlotRing, TheStampNeverOverlapsTheMessage) {
  for (size_t msg : {1ul, 56ul, 57ul, 100ul, 120ul, 4128ul}) {
    SCOPED_TRACE(msg);
    const size_t slot = SlotRing::slot_bytes_for(msg);
    const size_t stamp = SlotRing::stamp_offset_for(msg), at = SlotRing::message_offset_for(msg);
    EXPECT_EQ(stamp, slot == 64 ? 0u : slot - 8);
    EXPECT_TRUE(stamp + 8 <= at || at + msg <= stamp) << stamp << " " << at;
    EXPECT_LE(at + msg, slot);
    Fixture f(2, msg);
    ASSERT_TRUE(f.push(0xA5));  // fills all msg bytes
    EXPECT_EQ(f.stamp_of(0), 1u);
    ASSERT_EQ(f.pop(), std::optional<uint8_t>(0xA5));
  }
}

TEST(SlotRing, ACreditAheadOfTheProducerOrGoingBackIsCorrupt) {
  for (uint64_t bad : {uint64_t{5}, ~uint64_t{0}}) {
    Fixture f(2, 8);
    ASSERT_TRUE(f.push(1));
    ASSERT_TRUE(f.push(2));
    f.credit->released.store(bad);  // the producer has written 2
    EXPECT_TRUE(f.producer.writable()) << "a waiter must wake to report it";
    auto r = f.producer.try_reserve();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("credit"), std::string::npos) << r.error().message();
  }
  Fixture f(2, 8);
  ASSERT_TRUE(f.push(1));
  ASSERT_TRUE(f.push(2));
  ASSERT_TRUE(f.pop().has_value());  // publishes credit 1 (half of 2 slots)
  ASSERT_TRUE(f.push(3));
  f.credit->released.store(0);  // back below what the producer saw
  EXPECT_FALSE(f.producer.try_reserve().ok());
}

}  // namespace
}  // namespace ipcb
