// End to end through the real binary: every backend x waiter x workload at a few sizes with
// --verify full (zero errors, every measured message verified, nothing left behind), and what a
// run writes (JSON with aggregates, the console, histograms, floors). A peer that dies or hangs:
// e2e_peer_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "backends/backend.h"
#include "tests/e2e_fixture.h"
#include "tests/process_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;

// Every backend of the registry with the syncs it must accept: the matrix the suites and
// `ipcbench list` show. A backend added to the registry runs here with the syncs it registers,
// without an edit of this file; the existing ones must keep the syncs named below.
struct BackendCase {
  std::string name;
  bool shm;  // takes every waiter and both copy modes
  std::vector<std::string> syncs;
};

void PrintTo(const BackendCase& c, std::ostream* os) {
  *os << c.name;
}

const std::vector<std::string> kWaiters = {"spin",      "yield",    "sleep",   "futex",  "adaptive",
                                           "posix_sem", "sysv_sem", "condvar", "eventfd"};
const std::vector<std::string> kKernelSyncs = {"block", "poll", "busy"};

const std::map<std::string, std::vector<std::string>> kExpectedSyncs = {
    {"sysv_shm", kWaiters},          {"posix_shm", kWaiters},
    {"mmap_file", kWaiters},         {"memfd", kWaiters},
    {"pipe", kKernelSyncs},          {"fifo", kKernelSyncs},
    {"unix_stream", kKernelSyncs},   {"unix_seqpacket", kKernelSyncs},
    {"sysv_msg", {"block", "busy"}}, {"posix_mq", kKernelSyncs},
    {"tcp_loopback", kKernelSyncs},
};

const std::vector<BackendCase>& backend_cases() {
  static const std::vector<BackendCase> kAll = [] {
    std::vector<BackendCase> all;
    for (const BackendInfo& b : backends()) {
      auto known = kExpectedSyncs.find(b.name);
      all.push_back({b.name, std::string(b.kind) == "shm",
                     known != kExpectedSyncs.end() ? known->second : b.syncs()});
    }
    return all;
  }();
  return kAll;
}

const std::vector<std::string> kWorkloads = {"pingpong", "stream", "fanin", "fanout", "rate"};
const std::vector<std::string> kSizes = {"64", "4096"};

class EveryBackend : public E2E, public ::testing::WithParamInterface<BackendCase> {};

// Every sync x workload x size (x copy mode for shared memory) of one backend, --verify full:
// each expected benchmark ran (or was skipped with a named limit), with zero errors, every
// measured message verified, and the fairness fields filled in.
TEST_P(EveryBackend, EveryCombinationVerifiesEveryMessage) {
  const BackendCase& c = GetParam();
  // The full suite narrowed to this backend, one placement, small sizes and short runs of a
  // fixed length (--iterations: one call per benchmark, no sizing calls).
  std::vector<std::string> args = {
      "run",    "--suite",  "full",  "--backend", c.name,         "--placement", "cross",
      "--size", "64,4K",    "--fan", "2",         "--iterations", "300",         "--repetitions",
      "1",      "--verify", "full",  "--rate",    "20k",          "--out",       out_};
  Outcome o = run_ipcbench(args, env_, 280);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  nlohmann::json j = nlohmann::json::parse(read_file(out_ + "/bench.json"));
  std::set<std::string> expected, seen, skipped;
  for (const auto& sy : c.syncs) {
    for (const auto& w : kWorkloads) {
      for (const auto& z : kSizes) {
        // The rate workload names its offered rate, fanin and fanout their fan.
        std::string base = w + "/" + c.name + "/" + sy + "/" + z + (w == "rate" ? "/20000" : "");
        const std::string fan = w.starts_with("fan") ? "/fan2" : "";
        expected.insert(base + fan);
        if (c.shm) expected.insert(base + "/inplace" + fan);
      }
    }
  }
  for (const auto& sk : j["context"]["ipcbench_skipped"]) {
    skipped.insert(sk["name"].get<std::string>());
    EXPECT_NE(sk["reason"].get<std::string>().find(" = "), std::string::npos)
        << "a skip names its limit and value: " << sk.dump();
  }
  for (const auto& b : j["benchmarks"]) {
    std::string name = b["run_name"];
    name = name.substr(0, name.rfind("/manual_time"));
    SCOPED_TRACE(name);
    seen.insert(name);
    EXPECT_FALSE(b.value("error_occurred", false)) << b.value("error_message", "");
    EXPECT_EQ(b["iterations"].get<double>(), 300);
    EXPECT_EQ(b["errors"].get<double>(), 0);
    bool pingpong = name.rfind("pingpong/", 0) == 0;
    EXPECT_EQ(b["verified"].get<double>(),
              pingpong ? b["iterations"].get<double>() : b["messages"].get<double>());
    EXPECT_GT(b["latency_p50_ns"].get<double>(), 0);
    EXPECT_LE(b["latency_p50_ns"].get<double>(), b["latency_p99_ns"].get<double>());
    EXPECT_GT(b["bytes_per_second"].get<double>(), 0);
    bool inplace = name.find("/inplace") != std::string::npos;
    bool broadcast = c.shm && name.rfind("fanout/", 0) == 0;  // one write for both peers
    EXPECT_EQ(b["copy_mode"], inplace ? "inplace" : "copy");
    EXPECT_EQ(b["copies_per_msg"].get<double>(), inplace ? 1 : broadcast ? 1.5 : 2);
    // The ring actually used: none for kernel channels; 64 slots of at least a message for a
    // ping-pong (fewer when large); 2 to 8 MiB, a power of two of slots (SlotRing::slots_for),
    // for the deep workloads (stream, fanin; fanout's broadcast ring differs).
    const double ring = b["ring_bytes"].get<double>();
    const double msg = 32 + b["payload_bytes"].get<double>();
    if (!c.shm) {
      EXPECT_EQ(ring, 0);
    } else if (pingpong) {
      EXPECT_GE(ring, std::min(64 * msg, 256.0 * 1024));  // 64 slots, or 256 KiB of large ones
    } else if (!broadcast) {
      EXPECT_GE(ring, 2 << 20);
      EXPECT_LE(ring, 16 << 20);
    } else {
      EXPECT_GE(ring, 2 * msg);
    }
    if (name.rfind("fanout/", 0) == 0) {
      EXPECT_EQ(b["bytes_read"].get<double>(),
                (broadcast ? 2 : 1) * b["bytes_written"].get<double>());
    }
    EXPECT_FALSE(b["wait_mode"].get<std::string>().empty());
    // Only the sender-paced workloads can say how much of their time ran below half their
    // median pace (300 messages make too few windows for that: see the floors-each test).
    if (b.contains("slow_share") || b.contains("steady_bytes_per_second")) {
      EXPECT_TRUE(name.rfind("stream/", 0) == 0 || name.rfind("fanout/", 0) == 0);
    }
    EXPECT_EQ(b["placement"], "cross");
    EXPECT_GT(b["bytes_written"].get<double>(), 0);
    EXPECT_GT(b["bytes_read"].get<double>(), 0);
    for (const char* k : {"cpu_self_ns_per_msg", "cpu_peer_ns_per_msg", "vcsw_self_per_msg",
                          "ivcsw_peer_per_msg"}) {
      EXPECT_TRUE(b.contains(k)) << k;
    }
  }
  std::set<std::string> covered = seen;
  covered.insert(skipped.begin(), skipped.end());
  EXPECT_EQ(covered, expected);
  EXPECT_TRUE(fs::exists(out_ + "/bench.csv"));
  EXPECT_TRUE(fs::exists(out_ + "/summary.md"));
  EXPECT_EQ(j["context"]["ipcbench_schema_version"], 1);
}

INSTANTIATE_TEST_SUITE_P(All, EveryBackend, ::testing::ValuesIn(backend_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// `ipcbench list` shows the tested matrix, and every backend named above is still there.
TEST_F(E2E, ListMatchesTheTestedMatrix) {
  for (const auto& [name, syncs] : kExpectedSyncs) {
    EXPECT_NE(find_backend(name), nullptr) << "backend " << name << " left the registry";
  }
  Outcome o = run_ipcbench({"list"}, env_, 10);
  ASSERT_EQ(o.exit_code, 0);
  std::istringstream lines(o.out);
  std::string line;
  bool in_matrix = false;
  std::vector<std::string> header;
  size_t rows = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("Valid combinations", 0) == 0) {
      in_matrix = true;
      std::getline(lines, line);
      std::istringstream h(line);
      for (std::string w; h >> w;) header.push_back(w);
      continue;
    }
    if (!in_matrix || line.empty()) continue;
    std::istringstream r(line);
    std::string backend;
    r >> backend;
    auto it = std::find_if(backend_cases().begin(), backend_cases().end(),
                           [&](const BackendCase& c) { return backend == c.name; });
    ASSERT_NE(it, backend_cases().end()) << "untested backend " << backend;
    ++rows;
    for (const auto& sync : header) {
      std::string cell;
      r >> cell;
      bool listed = std::find(it->syncs.begin(), it->syncs.end(), sync) != it->syncs.end();
      EXPECT_EQ(cell == "yes", listed) << backend << " x " << sync;
    }
  }
  EXPECT_EQ(rows, backend_cases().size());
}

TEST_F(E2E, RepeatedRunWritesValidJsonWithAggregates) {
  // Google Benchmark writes NaN for the spread of constant counters; bench.json must stay JSON.
  Outcome o = run({"--backend", "pipe", "--workload", "pingpong", "--size", "64", "--min-time",
                   "0.01", "--repetitions", "2"},
                  60);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  auto j = nlohmann::json::parse(read_file(out_ + "/bench.json"), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "bench.json is not valid JSON";
  std::set<std::string> aggregates;
  for (const auto& b : j["benchmarks"]) aggregates.insert(b.value("aggregate_name", ""));
  EXPECT_TRUE(aggregates.count("median") && aggregates.count("stddev"));
  const std::string summary = read_file(out_ + "/summary.md");
  EXPECT_NE(summary.find("pipe / block"), std::string::npos);
  // The floors measured at the start are in the context and in summary.md, with each cell's
  // ratio to the floor that bounds it.
  ASSERT_TRUE(j["context"]["floors"].is_array() && !j["context"]["floors"].empty());
  EXPECT_NE(summary.find("## Physical floors"), std::string::npos) << summary;
  EXPECT_NE(summary.find("pipe hand-off"), std::string::npos) << summary;
  bool has_ratio = false;
  for (const auto& b : j["benchmarks"]) has_ratio = has_ratio || b.contains("ratio_to_floor");
  EXPECT_TRUE(has_ratio);
  EXPECT_NE(summary.find("x floor |"), std::string::npos) << summary;
}

// The console fits 120 columns (long skip reasons and advice are wrapped) and counts the runs
// it announced, one line each, from [1/N] to [N/N].
TEST_F(E2E, ConsoleFitsIn120ColumnsAndCountsEveryRun) {
  Outcome o = run({"--backend", "posix_mq,pipe", "--sync", "block", "--workload", "pingpong",
                   "--size", "64,64K", "--min-time", "0.005", "--repetitions", "2"},
                  60);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::istringstream lines(o.out);
  std::string line, header;
  std::vector<std::string> progress;
  while (std::getline(lines, line)) {
    EXPECT_LE(line.size(), 120u) << line;
    if (line.rfind("ipcbench ", 0) == 0) header = line;
    if (line.rfind("[", 0) == 0) progress.push_back(line.substr(0, line.find(']') + 1));
  }
  // posix_mq at 64 KiB is over fs.mqueue.msgsize_max (8 KiB by default): 3 x 2 runs remain.
  ASSERT_NE(header.find(" runs "), std::string::npos) << o.out;
  const int runs = std::stoi(header.substr(header.find(", ") + 2));  // "suite S, N runs (..."
  EXPECT_GE(runs, 4);
  ASSERT_EQ(progress.size(), static_cast<size_t>(runs)) << o.out;
  const std::string n = std::to_string(runs);
  EXPECT_EQ(progress.front(), std::string("[1/").append(n).append("]"));
  EXPECT_EQ(progress.back(), std::string("[").append(n).append("/").append(n).append("]"));
  EXPECT_EQ(o.out.find("***WARNING***"), std::string::npos) << "the DEBUG note is --verbose's";
}

// histograms.json holds every run's full histograms: their counts add up to the samples the
// counters report, and the p50 recomputed from the buckets is the counter's bucket (or within
// half the clock's step of it, where the percentiles interpolate through a coarse clock's step).
TEST_F(E2E, HistogramsSidecarMatchesTheCounters) {
  Outcome o = run({"--backend", "posix_shm", "--sync", "spin", "--workload", "pingpong,stream",
                   "--size", "64", "--min-time", "0.01", "--repetitions", "2", "--no-floors"},
                  60);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  auto bench = nlohmann::json::parse(read_file(out_ + "/bench.json"));
  auto hist = nlohmann::json::parse(read_file(out_ + "/histograms.json"));
  EXPECT_EQ(hist["ipcbench_histograms_schema_version"], 1);
  std::map<std::pair<std::string, int>, nlohmann::json> by_run;
  for (const auto& h : hist["benchmarks"]) by_run[{h["name"], h["repetition_index"]}] = h;
  int checked = 0;
  for (const auto& b : bench["benchmarks"]) {
    if (b.value("run_type", "") != "iteration") continue;
    std::string name = b["run_name"];
    name = name.substr(0, name.rfind("/manual_time"));
    SCOPED_TRACE(name);
    auto it = by_run.find({name, b["repetition_index"].get<int>()});
    ASSERT_NE(it, by_run.end());
    const auto& lat = it->second["latency"];
    uint64_t total = 0;
    for (const auto& bucket : lat["buckets"]) total += bucket[2].get<uint64_t>();
    EXPECT_EQ(total, lat["count"].get<uint64_t>());
    EXPECT_EQ(static_cast<double>(total), b["latency_samples"].get<double>());
    // Nearest-rank p50 from the buckets: the counter lies in that bucket, or within half the
    // clock's step of it (and the search's 1e-3 ns).
    const double half_step =
        lat.value("resolution_ns", 1.0) > 1 ? lat["resolution_ns"].get<double>() / 2 + 1e-3 : 0;
    if (name.rfind("pingpong/", 0) == 0) {
      EXPECT_EQ(it->second["rtt"].contains("resolution_ns"),
                bench["context"]["round_trip_timer_step_ns"].get<double>() > 1);
    }
    uint64_t rank = (total + 1) / 2, seen = 0;
    for (const auto& bucket : lat["buckets"]) {
      seen += bucket[2].get<uint64_t>();
      if (seen >= rank) {
        const double p50 = b["latency_p50_ns"].get<double>();
        EXPECT_GE(p50, std::max(bucket[0].get<double>(), lat["min"].get<double>()) - half_step);
        EXPECT_LE(p50, bucket[1].get<double>() + half_step);
        break;
      }
    }
    EXPECT_EQ(it->second.contains("rtt"), name.rfind("pingpong/", 0) == 0);
    ++checked;
  }
  EXPECT_GE(checked, 4);  // two benchmarks (at least), two repetitions each
}

// --floors each: every result is read against a floor measured right after it (and says so),
// compared with the same floor right before it (floor_drift: a result whose floor moved by more
// than 25% is listed as unsettled, never as below its floor), one line per benchmark in those
// lists at most, whatever Google Benchmark's sizing calls did.
TEST_F(E2E, FloorsEachReadsEveryResultAgainstAFloorMeasuredNextToIt) {
  Outcome o =
      run({"--backend", "posix_shm", "--sync", "spin", "--workload", "pingpong,stream", "--size",
           "4K", "--mode", "copy,inplace", "--min-time", "0.02", "--floors", "each"},
          90);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  auto j = nlohmann::json::parse(read_file(out_ + "/bench.json"), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  std::set<std::string> names;
  for (const auto& b : j["benchmarks"]) {
    SCOPED_TRACE(b.value("name", ""));
    names.insert(b.value("name", ""));
    EXPECT_EQ(b.value("floor_measured", ""), "after the benchmark");
    EXPECT_GT(b.value("ratio_to_floor", 0.0), 0.0);
    EXPECT_TRUE(b.contains(b.value("name", "").rfind("stream", 0) == 0 ? "ceiling_bytes_per_second"
                                                                       : "floor_ns"));
    // An in-place stream is also read against the copy path's ceiling, and nothing else is.
    const bool inplace_stream =
        b.value("workload", "") == "stream" && b.value("copy_mode", "") == "inplace";
    EXPECT_EQ(b.contains("ratio_to_copy_ceiling"), inplace_stream);
    // A spinning stream is read with its steady pace (the windows that did not run slow), which
    // is at least about its whole run's rate (the windows end at the last stamp, the run at the
    // stop's acknowledgement), and more by what the slow windows cost.
    const bool is_stream = b.value("workload", "") == "stream";
    EXPECT_EQ(b.contains("steady_bytes_per_second"), is_stream);
    const double measured =
        is_stream ? b.value("steady_bytes_per_second", 0.0) : b.value("latency_p50_ns", 0.0);
    if (is_stream) {
      EXPECT_GE(measured, 0.95 * b.value("bytes_per_second", 0.0));
      const double ceiling = b.value("ceiling_bytes_per_second", 0.0);
      ASSERT_GT(ceiling, 0.0);
      EXPECT_NEAR(b.value("ratio_to_floor", 0.0), measured / ceiling, 1e-6);
    }
    if (inplace_stream) {
      const double copy_ceiling = b.value("copy_ceiling_bytes_per_second", 0.0);
      ASSERT_GT(copy_ceiling, 0.0);
      EXPECT_NEAR(b.value("ratio_to_copy_ceiling", 0.0), measured / copy_ceiling, 1e-6);
    }
    const double drift = b.value("floor_drift", 0.0);
    EXPECT_GT(drift, 0.0);
    // A stream's 20 ms make some 200 windows of pace.
    const bool stream = b.value("workload", "") == "stream";
    EXPECT_EQ(b.contains("slow_share"), stream);
    const double slow_share = b.value("slow_share", 0.0);
    EXPECT_GE(slow_share, 0.0);
    EXPECT_LE(slow_share, 1.0);
    const bool moved = drift > 1.25 || drift < 1 / 1.25;
    const bool unsettled = b.value("floor_unsettled", 0.0) > 0;
    const std::string name = b.value("name", "");
    const std::string base = name.substr(0, name.find("/manual_time"));
    auto listed_line = [&](const char* list) {
      for (const auto& line : j["context"][list]) {
        if (line.get<std::string>().rfind(base + ":", 0) == 0) return line.get<std::string>();
      }
      return std::string();
    };
    const std::string line = listed_line("floors_unsettled");
    EXPECT_EQ(!line.empty(), unsettled) << line;
    if (moved) {
      EXPECT_TRUE(unsettled) << drift;
    }
    if (unsettled) {
      EXPECT_TRUE(listed_line("ipcbench_below_floor").empty());
      // Unsettled for one of its three reasons, which its line names.
      const bool slowed = line.find("ran below half its median pace") != std::string::npos;
      const bool faster = line.find("ran faster than that reference did") != std::string::npos;
      if (moved) {
        EXPECT_NE(line.find("before it and"), std::string::npos) << line;
      }
      EXPECT_TRUE(moved || slowed || faster) << line;
      if (slowed) {
        EXPECT_GT(slow_share, 0.15) << line;
      }
    } else if (stream && listed_line("ipcbench_below_floor").empty()) {
      EXPECT_LE(slow_share, 0.15);  // else it would be unsettled
    }
  }
  EXPECT_EQ(names.size(), 4u);  // pingpong and stream, copy and in place
  EXPECT_LE(j["context"]["ipcbench_below_floor"].size(), names.size());
  EXPECT_LE(j["context"]["floors_unsettled"].size(), names.size());
}

// A result below its floor (here every one: IPCBENCH_TEST_FLOOR_SCALE makes the floors those of a
// machine 1000 times slower) has the floor measured again three times, then is listed as below
// it in the console, the JSON and summary.md; the run still succeeds, and says its floors were
// scaled.
TEST_F(E2E, AResultBelowItsFloorIsMeasuredAgainThreeTimesThenListed) {
  std::vector<std::string> env = env_;
  env.push_back("IPCBENCH_TEST_FLOOR_SCALE=1000");
  Outcome o = run_ipcbench({"run", "--backend", "posix_shm", "--sync", "spin", "--workload",
                            "pingpong,stream", "--size", "4K", "--min-time", "0.02", "--out", out_},
                           env, 90);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("BELOW THEIR PHYSICAL FLOOR"), std::string::npos) << o.out;
  auto j = nlohmann::json::parse(read_file(out_ + "/bench.json"), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["context"]["floors"][0].value("test_scale", 0.0), 1000.0);
  const std::string summary = read_file(out_ + "/summary.md");
  std::set<std::string> names;
  for (const auto& b : j["benchmarks"]) {
    std::string name = b.value("run_name", "");
    name = name.substr(0, name.rfind("/manual_time"));
    SCOPED_TRACE(name);
    names.insert(name);
    EXPECT_EQ(b.value("floor_rechecks", 0.0), 3.0);
    EXPECT_EQ(b.value("floor_measured", ""),
              "again after the benchmark (it was below the run's earlier floor)");
    const double ratio = b.value("ratio_to_floor", 0.0);
    EXPECT_TRUE(name.starts_with("stream") ? ratio > 1.15 : (ratio > 0 && ratio < 0.85)) << ratio;
    auto listed = [&](const nlohmann::json& list) {
      return std::any_of(list.begin(), list.end(), [&](const nlohmann::json& line) {
        return line.get<std::string>().rfind(name + ":", 0) == 0;
      });
    };
    EXPECT_TRUE(listed(j["context"]["ipcbench_below_floor"]));
    const auto& rechecked = j["context"]["floors_rechecked"];
    EXPECT_EQ(std::count(rechecked.begin(), rechecked.end(), name), 1);
    EXPECT_NE(summary.find(name + ":"), std::string::npos);
  }
  EXPECT_EQ(names.size(), 2u);
}

// A scale that is not a number above 0 is refused before anything is measured: one line, exit 2.
TEST_F(E2E, AnInvalidTestFloorScaleIsRefusedInOneLine) {
  for (const char* bad : {"abc", "0", "-2", "nan", "1e999", "3x"}) {
    SCOPED_TRACE(bad);
    std::vector<std::string> env = env_;
    env.push_back(std::string("IPCBENCH_TEST_FLOOR_SCALE=") + bad);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"floors", "--budget", "0.1"},
          std::vector<std::string>{"run", "--backend", "pipe", "--workload", "pingpong",
                                   "--iterations", "10", "--out", out_}}) {
      Outcome o = run_ipcbench(args, env, 30);
      EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
      EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
      EXPECT_NE(o.err.find("IPCBENCH_TEST_FLOOR_SCALE"), std::string::npos) << o.err;
      EXPECT_EQ(o.out.find("floors"), std::string::npos) << o.out;  // nothing was measured
    }
  }
}

// --benchmark_filter matches the names ipcbench shows, so an anchored one selects exactly what it
// names (Google Benchmark's own names end in "/manual_time"), fixed run length or not; a leading
// '-' leaves out what matches.
TEST_F(E2E, BenchmarkFilterMatchesTheNamesShownAnchoredOrNegated) {
  auto names_of = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"--backend",  "posix_shm",    "--sync",      "spin",
                                     "--workload", "pingpong",     "--size",      "64,4K",
                                     "--mode",     "copy,inplace", "--no-floors", "--no-preflight"};
    args.insert(args.end(), extra.begin(), extra.end());
    Outcome o = run(args, 60);
    EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
    std::set<std::string> names;
    auto j = nlohmann::json::parse(read_file(out_ + "/bench.json"), nullptr, false);
    if (j.is_discarded()) return names;
    for (const auto& b : j["benchmarks"]) {
      std::string n = b.value("run_name", "");
      names.insert(n.substr(0, n.rfind("/manual_time")));
    }
    return names;
  };
  using Names = std::set<std::string>;
  EXPECT_EQ(names_of({"--min-time", "0.01", "--benchmark_filter=posix_shm/spin/64$"}),
            Names{"pingpong/posix_shm/spin/64"});
  EXPECT_EQ(names_of({"--iterations", "200", "--benchmark_filter=spin/4096$"}),
            Names{"pingpong/posix_shm/spin/4096"});
  EXPECT_EQ(names_of({"--iterations", "200", "--benchmark_filter=-inplace$"}),
            (Names{"pingpong/posix_shm/spin/64", "pingpong/posix_shm/spin/4096"}));
  // A sweep by the name the dry run shows; what the filter leaves out is not listed as skipped
  // (posix_mq at 1 MiB is over fs.mqueue.msgsize_max); a filter that is no regex says so.
  Outcome sweep = run({"--dry-run", "--workload", "rate", "--backend", "posix_shm", "--sync",
                       "spin", "--size", "64", "--benchmark_filter=/sweep$"},
                      30);
  EXPECT_EQ(sweep.exit_code, 0) << sweep.err;
  EXPECT_NE(sweep.out.find("rate/posix_shm/spin/64/sweep"), std::string::npos) << sweep.out;
  EXPECT_NE(sweep.out.find("1 rate sweep(s)"), std::string::npos) << sweep.out;
  Outcome skipped = run({"--dry-run", "--workload", "pingpong", "--backend", "posix_mq", "--sync",
                         "block", "--size", "64,1M", "--benchmark_filter=/64$"},
                        30);
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_NE(skipped.out.find("1 runs (1 repetitions each), 0 skipped"), std::string::npos)
      << skipped.out;
  Outcome bad = run({"--dry-run", "--benchmark_filter=["}, 30);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("not a regular expression"), std::string::npos) << bad.err;
}

TEST_F(E2E, ListShowsTheValidityMatrix) {
  Outcome o = run_ipcbench({"list"}, env_, 10);
  ASSERT_EQ(o.exit_code, 0);
  for (const char* word :
       {"sysv_shm", "posix_shm", "mmap_file", "pipe", "spin", "futex", "posix_sem", "block",
        "pingpong", "stream", "fanin", "fanout", "inplace", "cross", "Size limits"}) {
    EXPECT_NE(o.out.find(word), std::string::npos) << word;
  }
}

}  // namespace
}  // namespace ipcb::test
