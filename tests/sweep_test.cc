// Sweeps in one run (harness/plan/suite.h): size ranges, fan lists and offered rates in suites and
// overrides, and the benchmark names they expand to (the fan and the rate are part of them).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "harness/plan/suite.h"

namespace ipcb {
namespace {

std::vector<std::string> names(const Suite& s) {
  auto ex = expand(s, CpuChoice{0, 1, {}});
  EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.error().message());
  std::vector<std::string> out;
  if (ex.ok()) {
    for (const auto& sp : ex->specs) out.push_back(sp.name());
  }
  return out;
}

Suite suite(const std::string& extra, const std::string& matrix) {
  auto s = parse_suite("name = \"t\"\nmin_time = 0.1\nplacements = [\"cross\"]\n" + extra +
                           "\n[[matrix]]\n" + matrix,
                       "test");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
  return s.ok() ? *s : Suite{};
}

TEST(SizeRange, DoublesFromTheFirstSizeUpToTheLast) {
  EXPECT_EQ(parse_size_item("8..64").value(), (std::vector<size_t>{8, 16, 32, 64}));
  EXPECT_EQ(parse_size_item("1K..4K").value(), (std::vector<size_t>{1024, 2048, 4096}));
  EXPECT_EQ(parse_size_item("3..20").value(), (std::vector<size_t>{3, 6, 12}));
  EXPECT_EQ(parse_size_item("64").value(), (std::vector<size_t>{64}));
  auto all = parse_size_item("8..64M");  // every power of two from 2^3 to 2^26
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 24u);
  EXPECT_EQ(all->front(), 8u);
  EXPECT_EQ(all->back(), size_t{64} << 20);
  for (const char* bad : {"64..8", "8..", "..64", "8..128M", "0..8", "a..b"}) {
    EXPECT_FALSE(parse_size_item(bad).ok()) << bad;
  }
}

TEST(SizeRange, OverridesExpandRangesWithoutDuplicates) {
  Suite s = suite("",
                  "workloads = [\"stream\"]\nbackends = [\"pipe\"]\nsyncs = [\"block\"]\n"
                  "sizes = [\"64\"]");
  SuiteOverrides o;
  o.sizes = {"16..64", "32", "4K"};
  ASSERT_TRUE(apply_overrides(s, o).ok());
  EXPECT_EQ(names(s), (std::vector<std::string>{"stream/pipe/block/16", "stream/pipe/block/32",
                                                "stream/pipe/block/64", "stream/pipe/block/4096"}));
}

TEST(FanSweep, EveryFanIsABenchmarkNamedWithIt) {
  Suite s = suite("fan = [1, 2, 4, 2]",
                  "workloads = [\"fanin\", \"stream\"]\nbackends = [\"pipe\"]\n"
                  "syncs = [\"block\"]\nsizes = [\"4K\"]");
  EXPECT_EQ(s.fans, (std::vector<int>{1, 2, 4}));
  const auto n = names(s);
  for (const char* want : {"fanin/pipe/block/4096/fan1", "fanin/pipe/block/4096/fan2",
                           "fanin/pipe/block/4096/fan4", "stream/pipe/block/4096"}) {
    EXPECT_EQ(std::count(n.begin(), n.end(), want), 1) << want;
  }
  EXPECT_EQ(n.size(), 4u);  // stream does not fan out
  SuiteOverrides o;
  o.fans = {8, 3};
  ASSERT_TRUE(apply_overrides(s, o).ok());
  EXPECT_EQ(s.fans, (std::vector<int>{8, 3}));
  o.fans = {0};
  EXPECT_FALSE(apply_overrides(s, o).ok());
  for (const char* bad : {"fan = []", "fan = [0]", "fan = [1, 33]", "fan = [\"2\"]"}) {
    EXPECT_FALSE(parse_suite(std::string("name = \"t\"\n") + bad +
                                 "\n[[matrix]]\nworkloads = [\"fanin\"]\nsizes = [\"64\"]",
                             "test")
                     .ok())
        << bad;
  }
}

TEST(RateSweep, RatesAreBenchmarksNamedWithTheRateAndASweepStandsForMore) {
  Suite s = suite("rates = [\"10k\", \"1M\", \"sweep\", \"10000\"]",
                  "workloads = [\"rate\"]\nbackends = [\"pipe\"]\nsyncs = [\"block\"]\n"
                  "sizes = [\"64\"]");
  EXPECT_EQ(s.rates, (std::vector<uint64_t>{10'000, 1'000'000}));
  EXPECT_TRUE(s.rate_sweep);
  auto ex = expand(s, CpuChoice{0, 1, {}});
  ASSERT_TRUE(ex.ok());
  ASSERT_EQ(ex->specs.size(), 3u);
  EXPECT_EQ(ex->specs[0].name(), "rate/pipe/block/64/10000");
  EXPECT_EQ(ex->specs[0].rate, 10'000u);
  EXPECT_EQ(ex->specs[0].fixed_iterations, 2000u);  // at least 2000 for the tail
  EXPECT_EQ(ex->specs[1].name(), "rate/pipe/block/64/1000000");
  EXPECT_EQ(ex->specs[1].fixed_iterations, 100'000u);  // min_time 0.1 s at 1M/s
  EXPECT_EQ(ex->specs[2].name(), "rate/pipe/block/64/sweep");
  EXPECT_TRUE(ex->specs[2].sweep);
  // Without `rates` a suite sweeps; an override replaces the suite's rates.
  Suite d = suite("",
                  "workloads = [\"rate\"]\nbackends = [\"pipe\"]\nsyncs = [\"block\"]\n"
                  "sizes = [\"64\"]");
  EXPECT_TRUE(d.rates.empty());
  EXPECT_TRUE(d.rate_sweep);
  SuiteOverrides o;
  o.rates = {"2.5k"};
  ASSERT_TRUE(apply_overrides(d, o).ok());
  EXPECT_EQ(names(d), (std::vector<std::string>{"rate/pipe/block/64/2500"}));
  o.rates = {"fast"};
  EXPECT_FALSE(apply_overrides(d, o).ok());
}

TEST(RateSweep, MessagesPerCallCoverMinTimeAndTheTail) {
  EXPECT_EQ(rate_messages(10'000, 0.1), 2000u);
  EXPECT_EQ(rate_messages(1'000'000, 0.1), 100'000u);
  EXPECT_EQ(rate_messages(100, 0.1), 200u);  // 2000 would take 20 s: 2 s' worth
  EXPECT_EQ(rate_messages(1, 0.1), 2u);
}

}  // namespace
}  // namespace ipcb
