// Ring: wrap-around, full and empty, random interleavings against a reference queue, and
// hostile shared indices (an error, never an out-of-bounds access).
#include "harness/transport/ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <random>
#include <vector>

namespace ipcb {
namespace {

struct RingFixture {
  explicit RingFixture(size_t cap, size_t max_msg)
      : mem(cap + 64),
        control(new RingControl{}),
        producer(control.get(), mem.data(), cap, max_msg),
        consumer(control.get(), mem.data(), cap, max_msg) {}
  std::vector<std::byte> mem;
  std::unique_ptr<RingControl> control;
  Ring producer;
  Ring consumer;
};

bool push(Ring& r, const std::vector<std::byte>& msg) {
  auto slot = r.try_reserve(msg.size());
  EXPECT_TRUE(slot.ok()) << slot.error().message();
  if (!slot.ok() || !*slot) return false;
  std::memcpy((*slot)->data(), msg.data(), msg.size());
  r.commit();
  return true;
}

std::optional<std::vector<std::byte>> pop(Ring& r) {
  auto rec = r.try_peek();
  EXPECT_TRUE(rec.ok()) << rec.error().message();
  if (!rec.ok() || !*rec) return std::nullopt;
  std::vector<std::byte> out((*rec)->begin(), (*rec)->end());
  r.release();
  return out;
}

std::vector<std::byte> message(size_t len, uint8_t seed) {
  std::vector<std::byte> m(len);
  for (size_t i = 0; i < len; ++i) m[i] = std::byte(static_cast<uint8_t>(seed + i));
  return m;
}

TEST(Ring, EmptyThenOneMessage) {
  RingFixture f(4096, 1000);
  EXPECT_FALSE(f.consumer.readable());
  EXPECT_FALSE(pop(f.consumer).has_value());
  ASSERT_TRUE(push(f.producer, message(10, 1)));
  EXPECT_TRUE(f.consumer.readable());
  auto got = pop(f.consumer);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, message(10, 1));
  EXPECT_FALSE(pop(f.consumer).has_value());
}

TEST(Ring, FullRefusesUntilConsumed) {
  RingFixture f(4096, 1000);
  int pushed = 0;
  while (push(f.producer, message(100, static_cast<uint8_t>(pushed)))) ++pushed;
  EXPECT_EQ(pushed, 4096 / static_cast<int>(Ring::record_bytes(100)));
  EXPECT_FALSE(f.producer.writable(100));
  ASSERT_TRUE(pop(f.consumer).has_value());
  EXPECT_TRUE(f.producer.writable(100));
  EXPECT_TRUE(push(f.producer, message(100, 99)));
}

TEST(Ring, WrapAroundKeepsRecordsWholeAndInOrder) {
  RingFixture f(4096, 3000);
  // Sizes chosen so records straddle the end many times.
  for (int i = 0; i < 500; ++i) {
    size_t len = 1 + (static_cast<size_t>(i) * 397) % 1500;
    ASSERT_TRUE(push(f.producer, message(len, static_cast<uint8_t>(i))));
    auto got = pop(f.consumer);
    ASSERT_TRUE(got.has_value());
    ASSERT_EQ(*got, message(len, static_cast<uint8_t>(i))) << "message " << i;
  }
}

TEST(Ring, RandomInterleavingMatchesReferenceQueue) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    RingFixture f(8192, 2048);
    std::mt19937 rng(seed);
    std::deque<std::vector<std::byte>> ref;
    for (int step = 0; step < 5000; ++step) {
      if (rng() % 2) {
        auto m = message(1 + rng() % 2048, static_cast<uint8_t>(rng()));
        if (push(f.producer, m)) {
          ref.push_back(m);
        } else {
          EXPECT_FALSE(ref.empty()) << "refused a message into an empty ring";
        }
      } else {
        auto got = pop(f.consumer);
        if (ref.empty()) {
          EXPECT_FALSE(got.has_value());
        } else {
          ASSERT_TRUE(got.has_value()) << "seed " << seed << " step " << step;
          EXPECT_EQ(*got, ref.front());
          ref.pop_front();
        }
      }
    }
  }
}

TEST(Ring, HostileHeadBeyondCapacityIsAnError) {
  RingFixture f(4096, 1000);
  f.control->head.store(4096 + 8);  // more than a capacity ahead of the consumer
  auto r = f.consumer.try_peek();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("corrupt"), std::string::npos);
}

TEST(Ring, HostileHeadGoingBackwardsIsAnError) {
  RingFixture f(4096, 1000);
  ASSERT_TRUE(push(f.producer, message(10, 1)));
  ASSERT_TRUE(pop(f.consumer).has_value());
  f.control->head.store(0);  // behind the consumer's tail
  EXPECT_FALSE(f.consumer.try_peek().ok());
}

TEST(Ring, HostileRecordLengthIsAnError) {
  RingFixture f(4096, 1000);
  ASSERT_TRUE(push(f.producer, message(10, 1)));
  uint32_t huge = 1u << 30;
  std::memcpy(f.mem.data(), &huge, sizeof huge);
  EXPECT_FALSE(f.consumer.try_peek().ok());
  uint32_t beyond = 500;  // within max_message but beyond what head published
  std::memcpy(f.mem.data(), &beyond, sizeof beyond);
  RingFixture g(4096, 1000);
  ASSERT_TRUE(push(g.producer, message(10, 1)));
  std::memcpy(g.mem.data(), &beyond, sizeof beyond);
  EXPECT_FALSE(g.consumer.try_peek().ok());
}

TEST(Ring, HostileTailIsAnError) {
  RingFixture f(4096, 1000);
  while (push(f.producer, message(100, 1))) {
  }
  // The producer must now re-read the tail, which claims more was consumed than produced.
  f.control->tail.store(1u << 20);
  auto r = f.producer.try_reserve(100);
  EXPECT_FALSE(r.ok());
}

TEST(Ring, OversizedMessageIsAnError) {
  RingFixture f(4096, 100);
  EXPECT_FALSE(f.producer.try_reserve(101).ok());
}

}  // namespace
}  // namespace ipcb
