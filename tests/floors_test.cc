// Which floor bounds which benchmark (bound_for): what a result is compared with, and what it
// must not beat (a blocking one: the polling floor); the hand-offs' fastest tenth;
// the fastest of each floor across a run (keep_fastest).
#include <gtest/gtest.h>

#include "harness/run/floors.h"

namespace ipcb {
namespace {

Floors sample_floors() {
  Floors f;
  f.placement = "cross";
  f.line1_ns = 90;
  f.line2_ns = 100;
  f.futex_ns = 24000;
  f.futex_fast_ns = 15000;
  f.pipe_ns = 26000;
  f.pipe_fast_ns = 14000;
  SizeFloors s;
  s.bytes = 4096;
  s.pingpong_copy_ns = 700;
  s.pingpong_inplace_ns = 500;
  s.stream_copy_bytes_per_second = 10e9;
  s.stream_inplace_bytes_per_second = 20e9;
  f.sizes.push_back(s);
  return f;
}

// A blocking result is compared with the futex hand-off, and impossible only below the polling
// floor (a waiter that finds its message before it sleeps pays no wake-up).
TEST(Floors, BlockingShmIsBoundedByTheFutexHandOffAndFlaggedOnlyBelowThePollingFloor) {
  Bound b = bound_for(sample_floors(), "pingpong", "shm", "block", false, 4096);
  ASSERT_TRUE(b.known);
  EXPECT_TRUE(b.latency);
  EXPECT_DOUBLE_EQ(b.value, 24000 + (700 - 100));
  EXPECT_DOUBLE_EQ(b.impossible, 700 - 100);
  EXPECT_DOUBLE_EQ(b.impossible,
                   bound_for(sample_floors(), "pingpong", "shm", "poll", false, 4096).value);
  EXPECT_NE(b.impossible_what.find("cache-line"), std::string::npos);
}

// Not the lesser of the two: each is one noisy measurement, and the lesser of two is biased low.
TEST(Floors, BlockingKernelChannelIsBoundedByThePipeHandOffAndShmByTheFutex) {
  Floors f = sample_floors();
  for (double pipe : {20000.0, 30000.0}) {
    f.pipe_ns = pipe;
    Bound b = bound_for(f, "pingpong", "kernel", "block", true, 4096);
    ASSERT_TRUE(b.known);
    EXPECT_DOUBLE_EQ(b.value, pipe + (500 - 100));
    EXPECT_DOUBLE_EQ(b.impossible, 500 - 100);
    EXPECT_NE(b.what.find("pipe hand-off"), std::string::npos) << b.what;
    EXPECT_DOUBLE_EQ(bound_for(f, "pingpong", "shm", "block", true, 4096).value, 24000 + 400);
  }
  f.pipe_ns = 0;  // not measured: the futex's
  EXPECT_DOUBLE_EQ(bound_for(f, "pingpong", "kernel", "block", true, 4096).value, 24000 + 400);
}

TEST(Floors, PollingPingPongDropsTheReferencesFlagLineButNeverALineHandOff) {
  Floors f = sample_floors();
  Bound b = bound_for(f, "pingpong", "shm", "poll", false, 4096);
  ASSERT_TRUE(b.known);
  EXPECT_DOUBLE_EQ(b.value, 600);
  EXPECT_DOUBLE_EQ(b.impossible, 0);
  f.sizes[0].pingpong_copy_ns = 150;
  EXPECT_DOUBLE_EQ(bound_for(f, "pingpong", "shm", "poll", false, 4096).value, 100);
}

// A polling ping-pong is read against the two-line hand-off, but impossible only below the
// one-line one when that was faster (both sides writing one line can hand it over quicker), and
// never below the passes without their flag line.
TEST(Floors, PollingPingPongIsImpossibleOnlyBelowTheFasterOneLineHandOff) {
  Floors f = sample_floors();
  f.line1_ns = 60;                    // line2_ns 100
  f.sizes[0].pingpong_copy_ns = 120;  // passes less a line: 20
  Bound b = bound_for(f, "pingpong", "shm", "spin", false, 4096);
  EXPECT_DOUBLE_EQ(b.value, 100);
  EXPECT_DOUBLE_EQ(b.impossible, 60);
  EXPECT_NE(b.impossible_what.find("one-line"), std::string::npos) << b.impossible_what;
  f.sizes[0].pingpong_copy_ns = 180;  // passes less a line (80) lie above the one-line hand-off
  EXPECT_DOUBLE_EQ(bound_for(f, "pingpong", "shm", "spin", false, 4096).impossible, 80);
  EXPECT_DOUBLE_EQ(bound_for(f, "pingpong", "shm", "block", false, 4096).impossible, 80);
  f.line1_ns = 190;  // slower than two lines: the two-line floor is the limit
  EXPECT_DOUBLE_EQ(bound_for(f, "pingpong", "shm", "spin", false, 4096).impossible, 0);
  EXPECT_DOUBLE_EQ(bound_for(f, "pingpong", "shm", "block", false, 4096).impossible, 100);
  f.line1_ns = 0;  // not measured
  EXPECT_DOUBLE_EQ(bound_for(f, "pingpong", "shm", "spin", false, 4096).impossible, 0);
}

TEST(Floors, StreamIsBoundedByItsRingCeilingAndUnknownSizesByNothing) {
  Floors f = sample_floors();
  Bound c = bound_for(f, "stream", "shm", "poll", false, 4096);
  ASSERT_TRUE(c.known);
  EXPECT_FALSE(c.latency);
  EXPECT_DOUBLE_EQ(c.value, 10e9);
  EXPECT_DOUBLE_EQ(bound_for(f, "stream", "shm", "block", true, 4096).value, 20e9);
  EXPECT_FALSE(bound_for(f, "stream", "shm", "poll", false, 64).known);
  f.error = "the reference threads could not be started";
  EXPECT_FALSE(bound_for(f, "pingpong", "shm", "block", false, 4096).known);
}

// A result beyond the floor measured before it and the one after it (by more than their
// tolerance) is one the host ran faster than both: latency below both, a spinning stream above
// both. Not blocking results, nor a stream whose waiter lets the ring fill.
TEST(Floors, BeyondBothFloorsNeedsBothAndTheirTolerance) {
  Floors slow = sample_floors(), fast = sample_floors();
  slow.line2_ns = 190;
  const Bound a = bound_for(slow, "pingpong", "shm", "spin", false, 4096);  // 700 - 190 = 510
  const Bound b = bound_for(fast, "pingpong", "shm", "spin", false, 4096);  // 700 - 100 = 600
  ASSERT_DOUBLE_EQ(a.value, 510);
  EXPECT_TRUE(beyond_both_floors(a, b, 510 * 0.84, "spin"));
  EXPECT_FALSE(beyond_both_floors(a, b, 510 * 0.86, "spin")) << "within the tolerance";
  EXPECT_FALSE(beyond_both_floors(a, b, 550, "spin")) << "below one of them only";
  Floors one_line = slow;
  one_line.line1_ns = 50;
  one_line.sizes[0].pingpong_copy_ns = 220;  // 190 a line, 30 the passes less it
  const Bound quick = bound_for(one_line, "pingpong", "shm", "spin", false, 4096);
  ASSERT_GT(quick.impossible, 0);  // a polling bound with a lower limit is still judged
  EXPECT_TRUE(beyond_both_floors(quick, quick, 190 * 0.84, "spin"));
  const Bound blocking = bound_for(slow, "pingpong", "shm", "block", false, 4096);
  EXPECT_FALSE(beyond_both_floors(blocking, blocking, 1, "block"));
  const Bound c = bound_for(slow, "stream", "shm", "spin", false, 4096);  // 10 GB/s
  EXPECT_TRUE(beyond_both_floors(c, c, 11.6e9, "spin"));
  EXPECT_FALSE(beyond_both_floors(c, c, 11.4e9, "spin"));
  EXPECT_FALSE(beyond_both_floors(c, c, 20e9, "sleep")) << "a ring that fills is drained later";
  EXPECT_FALSE(beyond_both_floors(a, Bound{}, 1, "spin")) << "an unknown floor settles nothing";
}

// keep_fastest: across measurements, the shortest times and the highest rates; what one did not
// measure (0) or could not (an error) changes nothing; a new size is added.
TEST(Floors, KeepFastestKeepsTheShortestTimesAndTheHighestRates) {
  Floors fastest = sample_floors();
  Floors slow = sample_floors();
  slow.line2_ns = 190;
  slow.futex_fast_ns = 9000;  // this one was faster
  slow.pipe_ns = 0;           // not measured
  slow.sizes[0].pingpong_copy_ns = 1400;
  slow.sizes[0].stream_copy_bytes_per_second = 30e9;  // a faster spell
  slow.sizes[0].stream_inplace_bytes_per_second = 5e9;
  SizeFloors more;
  more.bytes = 64;
  more.pingpong_copy_ns = 120;
  slow.sizes.push_back(more);
  keep_fastest(fastest, slow);
  EXPECT_DOUBLE_EQ(fastest.line2_ns, 100);
  EXPECT_DOUBLE_EQ(fastest.futex_fast_ns, 9000);
  EXPECT_DOUBLE_EQ(fastest.pipe_ns, 26000);
  ASSERT_EQ(fastest.sizes.size(), 2u);
  EXPECT_DOUBLE_EQ(fastest.sizes[0].pingpong_copy_ns, 700);
  EXPECT_DOUBLE_EQ(fastest.sizes[0].stream_copy_bytes_per_second, 30e9);
  EXPECT_DOUBLE_EQ(fastest.sizes[0].stream_inplace_bytes_per_second, 20e9);
  EXPECT_DOUBLE_EQ(fastest.sizes[1].pingpong_copy_ns, 120);
  Floors broken = sample_floors();
  broken.line2_ns = 1;
  broken.error = "the reference threads could not be started";
  keep_fastest(fastest, broken);
  EXPECT_DOUBLE_EQ(fastest.line2_ns, 100);
  // An empty record (no floor measured yet for a placement) takes the first one whole.
  Floors first;
  keep_fastest(first, sample_floors());
  EXPECT_DOUBLE_EQ(first.line1_ns, 90);
  EXPECT_DOUBLE_EQ(first.futex_ns, 24000);
  EXPECT_DOUBLE_EQ(bound_for(first, "pingpong", "shm", "poll", false, 4096).value, 600);
}

// A stream ceiling is bytes over time, as a result's rate: slower windows lower it (a median
// would ignore them), the warm-up's first tenth and a host spell's windows do not count.
TEST(Floors, StreamCeilingIsBytesOverTimeWithoutWarmUpOrSpell) {
  // 10 windows of equal bytes: 1 warm-up window, 8 at 40, one at 20 (slower, not a spell).
  std::vector<double> w = {10, 40, 40, 40, 40, 40, 40, 40, 40, 20};
  // 9 windows counted: time 8/40 + 1/20 = 0.25 for 9 windows' bytes.
  EXPECT_DOUBLE_EQ(steady_pace(w), 9 / 0.25);
  EXPECT_LT(steady_pace(w), 40);  // the median window
  // A window below half the median (a spell) is left out entirely.
  w.back() = 5;
  EXPECT_DOUBLE_EQ(steady_pace(w), 40);
  // The warm-up is the first tenth: a slow first window of 20 counts once there are under 10.
  EXPECT_DOUBLE_EQ(steady_pace({20, 40, 40, 40}), 4 / (1.0 / 20 + 3.0 / 40));
  EXPECT_EQ(steady_pace({}), 0);
}

TEST(Floors, MeasuredHandOffsHaveAFastestTenthAtOrBelowTheirMedian) {
  Floors f = measure_floors(Placement{"same", 0, 0}, {64}, 0.3);
  ASSERT_TRUE(f.error.empty()) << f.error;
  EXPECT_GT(f.futex_fast_ns, 0);
  EXPECT_LE(f.futex_fast_ns, f.futex_ns);
  EXPECT_GT(f.pipe_fast_ns, 0);
  EXPECT_LE(f.pipe_fast_ns, f.pipe_ns);
}

}  // namespace
}  // namespace ipcb
