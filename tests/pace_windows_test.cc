// PaceWindows: the share of a stream's time that ran below half its median pace.
#include "harness/run/pace_windows.h"

#include <gtest/gtest.h>

namespace ipcb {
namespace {

// Feeds `w` clock reads every 10 us for `ns`, at `per_us` messages per microsecond.
void run_at(PaceWindows& w, uint64_t& now, uint64_t& count, uint64_t ns, uint64_t per_us) {
  for (uint64_t end = now + ns; now < end;) {
    now += 10'000;
    count += 10 * per_us;
    w.at(now, count);
  }
}

TEST(PaceWindows, ASteadyPaceHasNoSlowShare) {
  PaceWindows w;
  uint64_t now = 5'000'000, count = 0;
  w.start(now, count);
  run_at(w, now, count, 20'000'000, 400);
  EXPECT_EQ(w.windows(), 200u);  // a window closes once it spans 100 us, not at every read
  EXPECT_EQ(w.slow_share(), 0.0);
}

TEST(PaceWindows, ASpellMidRunIsItsShareOfTheTime) {
  PaceWindows w;
  uint64_t now = 0, count = 0;
  w.start(now, count);
  run_at(w, now, count, 10'000'000, 400);  // 10 ms at full pace
  run_at(w, now, count, 3'000'000, 50);    // 3 ms at an eighth of it
  run_at(w, now, count, 7'000'000, 400);
  EXPECT_NEAR(w.slow_share(), 0.15, 0.011);
}

TEST(PaceWindows, APaceAboveHalfTheMedianIsNotSlow) {
  PaceWindows w;
  uint64_t now = 0, count = 0;
  w.start(now, count);
  run_at(w, now, count, 12'000'000, 400);
  run_at(w, now, count, 8'000'000, 220);  // a second mode of the ring, 0.55 of the first
  EXPECT_EQ(w.slow_share(), 0.0);
  run_at(w, now, count, 2'000'000, 180);  // below half: slow
  EXPECT_NEAR(w.slow_share(), 2.0 / 22.0, 0.011);
}

TEST(PaceWindows, TheSteadyPaceLeavesTheSlowWindowsOut) {
  PaceWindows w;
  uint64_t now = 0, count = 0;
  w.start(now, count);
  run_at(w, now, count, 10'000'000, 400);
  run_at(w, now, count, 3'000'000, 50);  // a spell: left out
  run_at(w, now, count, 7'000'000, 400);
  EXPECT_NEAR(w.steady_pace(), 400e6, 1e3);  // messages per second
  // Over the whole run it would be (17 * 400 + 3 * 50) / 20 per us.
  EXPECT_GT(static_cast<double>(count) * 1e9 / static_cast<double>(now), 340e6);
  EXPECT_LT(static_cast<double>(count) * 1e9 / static_cast<double>(now), 350e6);
}

TEST(PaceWindows, TheSteadyPaceKeepsASecondModeAboveHalfTheMedian) {
  PaceWindows w;
  uint64_t now = 0, count = 0;
  w.start(now, count);
  run_at(w, now, count, 12'000'000, 400);
  run_at(w, now, count, 8'000'000, 220);
  EXPECT_NEAR(w.steady_pace(), (12.0 * 400 + 8.0 * 220) / 20 * 1e6, 1e3);
}

TEST(PaceWindows, TooFewWindowsTellNothing) {
  PaceWindows w;
  uint64_t now = 0, count = 0;
  w.start(now, count);
  run_at(w, now, count, 400'000, 400);
  run_at(w, now, count, 300'000, 10);
  EXPECT_LT(w.windows(), PaceWindows::kMinWindows);
  EXPECT_EQ(w.slow_share(), -1.0);
  EXPECT_EQ(w.steady_pace(), -1.0);
}

TEST(PaceWindows, AStallBetweenTwoClockReadsCountsForItsTime) {
  // The sender stops for 3 ms: one long window with few messages in it, 13% of the time.
  PaceWindows w;
  uint64_t now = 0, count = 0;
  w.start(now, count);
  run_at(w, now, count, 10'000'000, 400);
  now += 3'000'000;
  count += 100;
  w.at(now, count);
  run_at(w, now, count, 10'000'000, 400);
  EXPECT_EQ(w.windows(), 201u);
  EXPECT_NEAR(w.slow_share(), 3.0 / 23.0, 0.005);
}

TEST(PaceWindows, ALongRunKeepsBoundedWindowsThatStillSeeASpell) {
  PaceWindows w;
  uint64_t now = 0, count = 0;
  w.start(now, count);
  run_at(w, now, count, 600'000'000, 400);  // 0.6 s: more windows than it keeps
  run_at(w, now, count, 100'000'000, 40);   // a 0.1 s spell at a tenth of the pace
  run_at(w, now, count, 300'000'000, 400);
  EXPECT_LE(w.windows(), PaceWindows::kMaxWindows);
  EXPECT_GT(w.window_ns(), PaceWindows::kWindowNs);
  EXPECT_NEAR(w.slow_share(), 0.1, 0.005);
}

TEST(PaceWindows, StartForgetsAnEarlierPhase) {
  PaceWindows w;
  uint64_t now = 0, count = 0;
  w.start(now, count);
  run_at(w, now, count, 5'000'000, 10);  // the warm-up's slow pace
  w.start(now, count);
  run_at(w, now, count, 5'000'000, 400);
  EXPECT_EQ(w.windows(), 50u);
  EXPECT_EQ(w.slow_share(), 0.0);
}

}  // namespace
}  // namespace ipcb
