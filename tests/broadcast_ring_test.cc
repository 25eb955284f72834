// The broadcast ring: one write is read by every reader, the slowest reader holds the producer
// back, and positions written by a hostile peer are errors, never out-of-bounds accesses.
#include "harness/transport/broadcast_ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ipcb {
namespace {

constexpr size_t kReaders = 3;
constexpr size_t kSlots = 4;
constexpr size_t kMessage = 100;

struct Area {
  std::vector<BroadcastPosition> pos = std::vector<BroadcastPosition>(1 + kReaders);
  std::vector<std::byte> data =
      std::vector<std::byte>(kSlots * BroadcastRing::slot_bytes_for(kMessage));
  BroadcastRing make() {
    return BroadcastRing(&pos[0], &pos[1], kReaders, data.data(), kSlots, kMessage);
  }
};

void put(BroadcastRing& w, uint8_t value) {
  auto slot = w.try_reserve();
  ASSERT_TRUE(slot.ok());
  ASSERT_TRUE(slot->has_value());
  std::memset((*slot)->data(), value, (*slot)->size());
  w.commit();
}

TEST(BroadcastRing, EveryReaderSeesEveryMessageOnce) {
  Area a;
  BroadcastRing w = a.make();
  std::vector<BroadcastRing> readers;
  for (size_t r = 0; r < kReaders; ++r) readers.push_back(a.make());
  for (uint8_t round = 0; round < 20; ++round) {
    put(w, round);
    for (size_t r = 0; r < kReaders; ++r) {
      auto msg = readers[r].try_peek();
      ASSERT_TRUE(msg.ok() && msg->has_value());
      EXPECT_EQ((*msg)->size(), kMessage);
      EXPECT_EQ((*msg)->front(), std::byte{round});
      readers[r].release(r);
      auto empty = readers[r].try_peek();
      ASSERT_TRUE(empty.ok());
      EXPECT_FALSE(empty->has_value());
    }
  }
}

TEST(BroadcastRing, TheSlowestReaderHoldsTheProducerBack) {
  Area a;
  BroadcastRing w = a.make();
  BroadcastRing fast = a.make(), slow = a.make(), idle = a.make();
  for (uint8_t i = 0; i < kSlots; ++i) put(w, i);
  EXPECT_FALSE(w.writable());
  auto full = w.try_reserve();
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->has_value());
  // Two readers catch up; the third has not read anything, so there is still no room.
  for (size_t i = 0; i < kSlots; ++i) {
    ASSERT_TRUE(fast.try_peek()->has_value());
    fast.release(0);
    ASSERT_TRUE(slow.try_peek()->has_value());
    slow.release(1);
  }
  EXPECT_FALSE(w.try_reserve()->has_value());
  ASSERT_TRUE(idle.try_peek()->has_value());
  idle.release(2);
  EXPECT_TRUE(w.writable());
  EXPECT_TRUE(w.try_reserve()->has_value());
}

TEST(BroadcastRing, HostilePositionsAreErrors) {
  Area a;
  BroadcastRing w = a.make();
  BroadcastRing r = a.make();
  put(w, 1);
  a.pos[0].value.store(1000);  // a head far beyond what fits
  EXPECT_FALSE(r.try_peek().ok());
  Area b;
  BroadcastRing w2 = b.make();
  for (uint8_t i = 0; i < kSlots; ++i) put(w2, i);
  b.pos[2].value.store(99);  // a tail ahead of the head
  EXPECT_FALSE(w2.try_reserve().ok());
}

}  // namespace
}  // namespace ipcb
