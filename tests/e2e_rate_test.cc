// End to end through the real binary: the open-loop rate workload (offered against achieved
// rate, latency from the intended and from the actual send, back-pressure when the peer cannot
// keep up), `--rate sweep` (a capacity probe chooses the rates, up to saturation), `--fan`
// lists (one benchmark per fan, named with it) and `--size` ranges.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/process_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;

class E2ERate : public RunFolders {
 protected:
  // Runs `ipcbench run ARGS --out OUT`; returns bench.json (null on failure, with a failure).
  nlohmann::json run(std::vector<std::string> args, double timeout_s = 120) {
    args.insert(args.begin(), "run");
    args.insert(args.end(), {"--placement", "cross", "--out", out_});
    Outcome o = run_ipcbench(args, env_, timeout_s);
    EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
    if (o.exit_code != 0) return nullptr;
    return nlohmann::json::parse(read_file(out_ + "/bench.json"));
  }
};

std::string base_name(const nlohmann::json& b) {
  std::string n = b["run_name"];
  n = n.substr(0, n.rfind("/manual_time"));
  return n.substr(0, n.rfind("/iterations:"));
}

const nlohmann::json* find(const nlohmann::json& j, const std::string& name) {
  for (const auto& b : j["benchmarks"]) {
    if (base_name(b) == name) return &b;
  }
  return nullptr;
}

// Two rates a pipe carries easily: each is achieved (within 15%, never above the schedule),
// every message is verified and timed twice, and the corrected latency (from the intended send
// time) is never below the uncorrected one (from the actual send, which is never earlier).
TEST_F(E2ERate, RatesAreAchievedAndTimedFromTheIntendedAndTheActualSend) {
  auto j = run({"--workload", "rate", "--backend", "pipe", "--sync", "block", "--size", "64",
                "--rate", "5k,20k", "--min-time", "0.2"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["benchmarks"].size(), 2u);
  for (double rate : {5000.0, 20000.0}) {
    const std::string name = "rate/pipe/block/64/" + std::to_string(static_cast<int>(rate));
    const nlohmann::json* b = find(j, name);
    ASSERT_NE(b, nullptr) << name;
    SCOPED_TRACE(name);
    EXPECT_FALSE(b->value("error_occurred", false)) << b->value("error_message", "");
    EXPECT_EQ((*b)["offered_rate"].get<double>(), rate);
    // --min-time's worth, at least 2000 (for the tail)
    const double messages = std::max(2000.0, rate * 0.2);
    EXPECT_EQ((*b)["messages"].get<double>(), messages);
    // The schedule is kept (a stall on this shared machine may delay the end a little).
    const double achieved = (*b)["achieved_rate"].get<double>();
    EXPECT_NEAR(achieved, rate, rate * 0.15);
    EXPECT_LE(achieved, rate * 1.001) << "never faster than the schedule";
    EXPECT_EQ((*b)["saturated"].get<double>(), achieved < 0.95 * rate ? 1 : 0);
    EXPECT_EQ((*b)["errors"].get<double>(), 0);
    EXPECT_EQ((*b)["verified"].get<double>(), messages);
    EXPECT_EQ((*b)["latency_samples"].get<double>(), messages);
    for (const char* p : {"p50", "p99", "p999", "max"}) {
      const double corrected = (*b)[std::string("latency_") + p + "_ns"].get<double>();
      const double uncorrected = (*b)[std::string("uncorrected_") + p + "_ns"].get<double>();
      EXPECT_GT(uncorrected, 0) << p;
      EXPECT_GE(corrected, uncorrected) << p;
    }
    for (const char* k : {"backpressured", "backpressured_fraction", "send_lag_p99_ns",
                          "pace_poll_ns_per_msg", "cpu_self_ns_per_msg", "cpu_peer_ns_per_msg"}) {
      EXPECT_TRUE(b->contains(k)) << k;
    }
  }
  auto h = nlohmann::json::parse(read_file(out_ + "/histograms.json"));
  size_t with_uncorrected = 0;
  for (const auto& e : h["benchmarks"]) with_uncorrected += e.contains("uncorrected");
  EXPECT_EQ(with_uncorrected, 2u) << h.dump().substr(0, 400);
}

// A peer that needs 50 µs per message (--inject-ns) behind a POSIX queue of 10 messages,
// offered 100k messages per second: the queue fills, the sender's sends wait for room (counted
// as back-pressure, not hidden), the achieved rate falls below 95% (saturated), and the
// corrected latency shows the queueing the uncorrected figure leaves out.
TEST_F(E2ERate, AFullChannelIsCountedAsBackPressureAndInTheCorrectedLatency) {
  auto j = run({"--workload", "rate", "--backend", "posix_mq", "--sync", "block", "--size", "64",
                "--rate", "100k", "--iterations", "3000", "--inject-ns", "50000"});
  ASSERT_FALSE(j.is_null());
  const nlohmann::json* b = find(j, "rate/posix_mq/block/64/100000");
  ASSERT_NE(b, nullptr) << j.dump().substr(0, 600);
  EXPECT_FALSE(b->value("error_occurred", false)) << b->value("error_message", "");
  EXPECT_EQ((*b)["saturated"].get<double>(), 1);
  EXPECT_LT((*b)["achieved_rate"].get<double>(), 30'000);  // at most 20k/s can be served
  EXPECT_GT((*b)["backpressured_fraction"].get<double>(), 0.5);
  // 3000 messages at 20k/s take 150 ms while their schedule ends after 30 ms: the last ones
  // are some 100 ms late; from its actual send each waits behind at most 10 queued messages.
  EXPECT_GT((*b)["latency_max_ns"].get<double>(), 50e6);
  EXPECT_LT((*b)["uncorrected_p50_ns"].get<double>(), 5e6);
  EXPECT_GT((*b)["latency_p99_ns"].get<double>(), 10 * (*b)["uncorrected_p99_ns"].get<double>());
  EXPECT_EQ((*b)["verified"].get<double>(), 3000);
}

// --rate sweep: a closed-loop probe measures the capacity; the rates run are the 1-2-5 ladder
// up to twice it, each a benchmark named with its rate, and the fastest ones saturate.
TEST_F(E2ERate, SweepRunsTheLadderUpToSaturation) {
  auto j = run({"--workload", "rate", "--backend", "pipe", "--sync", "block", "--size", "64",
                "--rate", "sweep", "--min-time", "0.02"});
  ASSERT_FALSE(j.is_null());
  const auto& sweeps = j["context"]["rate_sweeps"];
  ASSERT_EQ(sweeps.size(), 1u) << j["context"].dump();
  EXPECT_EQ(sweeps[0]["name"], "rate/pipe/block/64/sweep");
  const double capacity = sweeps[0]["capacity_messages_per_second"];
  EXPECT_GT(capacity, 1000);
  std::vector<uint64_t> rates = sweeps[0]["rates"];
  ASSERT_GE(rates.size(), 3u);
  EXPECT_GE(static_cast<double>(rates.back()), 2 * capacity);
  EXPECT_LT(static_cast<double>(rates[rates.size() - 2]), 2 * capacity);
  EXPECT_EQ(j["benchmarks"].size(), rates.size());
  for (uint64_t r : rates) {
    const nlohmann::json* b = find(j, "rate/pipe/block/64/" + std::to_string(r));
    ASSERT_NE(b, nullptr) << r;
    EXPECT_EQ((*b)["offered_rate"].get<double>(), static_cast<double>(r));
    EXPECT_DOUBLE_EQ((*b)["probed_capacity"].get<double>(), capacity);
  }
  EXPECT_EQ((*find(j, "rate/pipe/block/64/" + std::to_string(rates.back())))["saturated"], 1);
}

// --fan 1,2 sweeps the peers of fanin and fanout in one run: a benchmark per fan, named with it.
TEST_F(E2ERate, FanListRunsEveryFanNamedWithIt) {
  auto j = run({"--workload", "fanin,fanout", "--backend", "pipe", "--sync", "block", "--size",
                "4K", "--fan", "1,2", "--iterations", "200"});
  ASSERT_FALSE(j.is_null());
  std::set<std::string> names;
  for (const auto& b : j["benchmarks"]) {
    names.insert(base_name(b));
    const std::string n = base_name(b);
    EXPECT_EQ(b["fan"].get<double>(), n.back() - '0') << n;
    EXPECT_EQ(b["errors"].get<double>(), 0) << n;
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"fanin/pipe/block/4096/fan1", "fanin/pipe/block/4096/fan2",
                                   "fanout/pipe/block/4096/fan1", "fanout/pipe/block/4096/fan2"}));
  EXPECT_EQ(j["context"]["ipcbench_config"]["fans"], nlohmann::json::array({1, 2}));
}

TEST_F(E2ERate, SizeRangeListsEveryPowerOfTwo) {
  Outcome o = run_ipcbench({"run", "--workload", "stream", "--backend", "pipe", "--sync", "block",
                            "--size", "8..64", "--placement", "cross", "--dry-run"},
                           env_, 30);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  for (const char* n : {"stream/pipe/block/8\n", "stream/pipe/block/16\n", "stream/pipe/block/32\n",
                        "stream/pipe/block/64\n"}) {
    EXPECT_NE(o.out.find(n), std::string::npos) << n << o.out;
  }
  EXPECT_EQ(o.out.find("stream/pipe/block/128"), std::string::npos) << o.out;
}

TEST_F(E2ERate, BadRatesAreUsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--workload", "rate", "--rate", "fast"}, "rate 'fast'"},
      {{"--workload", "rate", "--rate", "2G"}, "highest rate"},
      {{"--workload", "stream", "--rate", "10k"}, "--workload rate"},
  };
  for (const auto& [args, text] : cases) {
    std::vector<std::string> a = {"run", "--dry-run"};
    a.insert(a.end(), args.begin(), args.end());
    Outcome o = run_ipcbench(a, env_, 30);
    EXPECT_EQ(o.exit_code, 2) << text << o.out << o.err;
    EXPECT_NE(o.err.find(text), std::string::npos) << text << ": " << o.err;
  }
}

}  // namespace
}  // namespace ipcb::test
