// The rate workload's arithmetic (harness/run/rate.h) against hand-computed examples: the send
// schedule, the coordinated-omission correction, the back-pressure count, the pacer, the
// sweep's rates and the rate syntax.
#include "harness/run/rate.h"

#include <gtest/gtest.h>

#include "harness/sys/sys.h"

namespace ipcb {
namespace {

constexpr uint64_t kT0 = 1'000'000'000;  // the first message's stamp: the schedule's start
constexpr uint64_t kMs = 1'000'000;

TEST(PaceSchedule, DueTimesAreExactWithoutDrift) {
  const PaceSchedule s(kT0, 3);  // a period of 333,333,333.3 ns
  EXPECT_EQ(s.due(0), kT0);
  EXPECT_EQ(s.due(1), kT0 + 333'333'333);
  EXPECT_EQ(s.due(2), kT0 + 666'666'666);
  EXPECT_EQ(s.due(3), kT0 + 1'000'000'000);  // no accumulated rounding
  EXPECT_EQ(s.due(3'000'000'000ull), kT0 + 1'000'000'000'000'000'000ull);
  const PaceSchedule m(kT0, 1'000'000);
  EXPECT_EQ(m.due(7), kT0 + 7000);
}

TEST(PaceSchedule, DueByCountsMessagesDueAtOrBeforeATime) {
  const PaceSchedule s(kT0, 3);
  EXPECT_EQ(s.due_by(0), 0u);
  EXPECT_EQ(s.due_by(kT0 - 1), 0u);
  EXPECT_EQ(s.due_by(kT0), 1u);  // message 0 is due at t0
  EXPECT_EQ(s.due_by(kT0 + 333'333'332), 1u);
  EXPECT_EQ(s.due_by(kT0 + 333'333'333), 2u);
  EXPECT_EQ(s.due_by(kT0 + 1'000'000'000), 4u);
  for (uint64_t k = 0; k < 50; ++k) {  // due_by is the inverse of due
    EXPECT_EQ(s.due_by(s.due(k)), k + 1) << k;
    EXPECT_EQ(s.due_by(s.due(k) - 1), k) << k;
  }
}

// 1000 messages per second (due every 1 ms from t0); every message takes 10 us from its send
// to its receipt. Message 1 is sent on time but its send blocks 3.5 ms (a full channel), so
// messages 1-4 go out at t0 + 4.5 ms, 1 us apart; message 5 is on time again. Corrected
// latency (from the intended send time) of message k = receipt - (t0 + k ms):
//   10 us, 3.51 ms, 2.511 ms, 1.512 ms, 513 us, 10 us   (sum 8.066 ms, max 3.51 ms)
// Uncorrected (from the actual send): 10 us each (sum 60 us, max 10 us): a closed-loop tool
// would never see the stall.
TEST(PacedLatency, CorrectsForCoordinatedOmissionAsHandComputed) {
  PacedLatency p(1000);
  const uint64_t sent[] = {
      kT0, kT0 + 4'500'000, kT0 + 4'501'000, kT0 + 4'502'000, kT0 + 4'503'000, kT0 + 5 * kMs};
  for (uint64_t s : sent) p.record(s, s + 10'000);
  EXPECT_EQ(p.messages(), 6u);
  const Histogram& c = p.corrected();
  EXPECT_EQ(c.count(), 6u);
  EXPECT_EQ(c.sum(), 10'000u + 3'510'000 + 2'511'000 + 1'512'000 + 513'000 + 10'000);
  EXPECT_EQ(c.max(), 3'510'000u);
  EXPECT_EQ(c.min(), 10'000u);
  const Histogram& u = p.uncorrected();
  EXPECT_EQ(u.count(), 6u);
  EXPECT_EQ(u.sum(), 60'000u);
  EXPECT_EQ(u.max(), 10'000u);
  // p50 of the corrected figures is the 3rd smallest, 513 us (within the histogram's bucket);
  // the uncorrected p50 stays at 10 us.
  EXPECT_NEAR(static_cast<double>(c.percentile(0.5)), 513'000, 513'000 * 0.01);
  EXPECT_NEAR(static_cast<double>(u.percentile(0.5)), 10'000, 10'000 * 0.01);
}

TEST(PacedLatency, ASenderAheadOfScheduleCountsFromItsActualSend) {
  // A message received before its due time (a stamp that is early) counts as 0, never wraps.
  PacedLatency p(1000);
  p.record(kT0, kT0 + 5000);
  p.record(kT0 + 100, kT0 + 600);  // due at t0 + 1 ms, received at t0 + 600 ns
  EXPECT_EQ(p.corrected().max(), 5000u);
  EXPECT_EQ(p.corrected().min(), 0u);
  EXPECT_EQ(p.uncorrected().sum(), 5000u + 500);
}

TEST(PaceStats, CountsMessagesThatCameDueInsideASendAsBackPressure) {
  const PaceSchedule s(kT0, 1000);
  PaceStats st;
  st.on_send(s, 0, 10, kT0, kT0 + 1000);
  EXPECT_EQ(st.backpressured, 0u);
  // Message 1 sent on time; its send waits for room until t0 + 4.5 ms: 2, 3 and 4 came due.
  st.on_send(s, 1, 10, kT0 + kMs, kT0 + 4'500'000);
  EXPECT_EQ(st.backpressured, 3u);
  // Those go out late, back to back, each send quick: late, but no new back-pressure.
  st.on_send(s, 2, 10, kT0 + 4'501'000, kT0 + 4'501'500);
  st.on_send(s, 3, 10, kT0 + 4'502'000, kT0 + 4'502'500);
  EXPECT_EQ(st.backpressured, 3u);
  // Late because the sender itself woke late (not inside a send): lag, not back-pressure.
  st.on_send(s, 6, 10, kT0 + 6'200'000, kT0 + 6'200'100);
  EXPECT_EQ(st.backpressured, 3u);
  EXPECT_EQ(st.lag.count(), 5u);
  EXPECT_EQ(st.lag.sum(), 0u + 0 + 2'501'000 + 1'502'000 + 200'000);
  EXPECT_EQ(st.lag.max(), 2'501'000u);
}

TEST(PaceStats, BackPressureStopsAtTheLastMessage) {
  const PaceSchedule s(kT0, 1000);
  PaceStats st;
  // 3 messages in all: a send of message 1 that lasts 10 ms holds back only message 2.
  st.on_send(s, 1, 3, kT0 + kMs, kT0 + 11 * kMs);
  EXPECT_EQ(st.backpressured, 1u);
}

TEST(Pacer, WaitsUntilTheDueTimeAndNotForAPassedOne) {
  for (bool yield : {false, true}) {
    Pacer p(yield);
    const uint64_t now = sys::now_ns();
    EXPECT_EQ(p.wait_until(now - 1, now), now) << "a passed due time returns at once";
    for (uint64_t ahead : {uint64_t{2000}, uint64_t{300'000}, uint64_t{2'000'000}}) {
      const uint64_t start = sys::now_ns();
      const uint64_t due = start + ahead;
      const uint64_t got = p.wait_until(due, start);
      EXPECT_GE(got, due) << ahead;
      EXPECT_GE(sys::now_ns(), due) << ahead;
      EXPECT_LE(got, sys::now_ns());
    }
    EXPECT_GE(p.margin_ns(), 5000u);
    EXPECT_LE(p.margin_ns(), 500'000u);
  }
}

TEST(SweepRates, LadderFromTenThousandUpToTheFirstRateAtTwiceCapacity) {
  EXPECT_EQ(sweep_rates(3.4e6),
            (std::vector<uint64_t>{10'000, 20'000, 50'000, 100'000, 200'000, 500'000, 1'000'000,
                                   2'000'000, 5'000'000, 10'000'000}));
  // A slow mechanism: the ladder starts at or below a twentieth of its capacity.
  EXPECT_EQ(sweep_rates(50'000),
            (std::vector<uint64_t>{2000, 5000, 10'000, 20'000, 50'000, 100'000}));
  EXPECT_EQ(sweep_rates(30), (std::vector<uint64_t>{1, 2, 5, 10, 20, 50, 100}));
  EXPECT_EQ(sweep_rates(0), (std::vector<uint64_t>{10'000}));
  const auto top = sweep_rates(1e12);
  EXPECT_EQ(top.back(), kMaxRate);
}

TEST(RateSyntax, ParsesDecimalSuffixesAndRejectsTheRest) {
  EXPECT_EQ(parse_rate("500").value(), 500u);
  EXPECT_EQ(parse_rate("10k").value(), 10'000u);
  EXPECT_EQ(parse_rate("10K").value(), 10'000u);
  EXPECT_EQ(parse_rate("2.5M").value(), 2'500'000u);
  EXPECT_EQ(parse_rate("1G").value(), 1'000'000'000u);
  for (const char* bad : {"", "0", "k", "1.5", "2G", "10x", "-5", "1e6", "0.0001k"}) {
    EXPECT_FALSE(parse_rate(bad).ok()) << bad;
  }
  EXPECT_EQ(rate_label(100'000), "100k");
  EXPECT_EQ(rate_label(2'500'000), "2.5M");
  EXPECT_EQ(rate_label(1500), "1.5k");
  EXPECT_EQ(rate_label(999), "999");
  EXPECT_EQ(rate_label(1234), "1234");
}

}  // namespace
}  // namespace ipcb
