// End to end through the real binary: every backend x waiter x workload at a few sizes with
// --verify full (zero errors, every measured message verified, nothing left behind); a peer
// that is killed or hangs is reported within the deadline; a killed run leaks nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/process_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;

// Every run gets its own manifest and mmap folders, so leftovers are exactly attributable.
class E2E : public ::testing::Test {
 protected:
  void SetUp() override {
    manifest_ = make_temp_dir("manifest");
    mmap_ = make_temp_dir("mmap");
    out_ = make_temp_dir("out");
    env_ = {"IPCBENCH_MANIFEST_DIR=" + manifest_, "IPCBENCH_MMAP_DIR=" + mmap_};
    before_ = ipc_snapshot({manifest_, mmap_});
  }
  void TearDown() override {
    EXPECT_EQ(ipc_snapshot({manifest_, mmap_}), before_) << "the run left IPC objects behind";
    for (const auto& d : {manifest_, mmap_, out_}) fs::remove_all(d);
  }
  std::string manifest_, mmap_, out_;
  std::vector<std::string> env_;
  std::set<std::string> before_;
};

class EveryBackend : public E2E, public ::testing::WithParamInterface<const char*> {};

TEST_P(EveryBackend, EveryWaiterAndWorkloadVerifiesEveryMessage) {
  Outcome o = run_ipcbench({"run", "--backend", GetParam(), "--size", "64,4K,1M", "--min-time",
                            "0.01", "--verify", "full", "--out", out_},
                           env_, 240);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  nlohmann::json j = nlohmann::json::parse(read_file(out_ + "/bench.json"));
  auto& benches = j["benchmarks"];
  ASSERT_GE(benches.size(), 6u);  // 2 workloads x >= 1 sync x 3 sizes
  std::set<std::string> workloads;
  for (const auto& b : benches) {
    std::string name = b["name"];
    SCOPED_TRACE(name);
    EXPECT_FALSE(b.value("error_occurred", false)) << b.value("error_message", "");
    EXPECT_EQ(b["errors"].get<double>(), 0);
    EXPECT_EQ(b["verified"].get<double>(), b["iterations"].get<double>());
    EXPECT_GT(b["latency_p50_ns"].get<double>(), 0);
    EXPECT_LE(b["latency_p50_ns"].get<double>(), b["latency_p99_ns"].get<double>());
    EXPECT_LE(b["latency_p99_ns"].get<double>(), b["latency_max_ns"].get<double>());
    EXPECT_GT(b["bytes_per_second"].get<double>(), 0);
    workloads.insert(name.substr(0, name.find('/')));
  }
  EXPECT_EQ(workloads, (std::set<std::string>{"pingpong", "stream"}));
  EXPECT_TRUE(fs::exists(out_ + "/bench.csv"));
  EXPECT_TRUE(fs::exists(out_ + "/summary.md"));
  EXPECT_EQ(j["context"]["ipcbench_schema_version"], 1);
}

INSTANTIATE_TEST_SUITE_P(All, EveryBackend,
                         ::testing::Values("sysv_shm", "posix_shm", "mmap_file", "pipe"),
                         [](const auto& info) { return std::string(info.param); });

// Starts a long pingpong and returns (ipcbench pid, peer pid) once the run is in its long
// measured call (Google Benchmark first makes a few short calls, each with its own peer).
std::pair<pid_t, pid_t> start_long_run(const std::vector<std::string>& env, const std::string& out,
                                       const std::string& backend, const std::string& sync) {
  pid_t pid =
      start_ipcbench({"run", "--backend", backend, "--sync", sync, "--workload", "pingpong",
                      "--size", "64", "--min-time", "30", "--timeout-ms", "1000", "--out", out},
                     env, out);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (int i = 0; i < 500; ++i) {
    auto kids = children_of(pid);
    if (!kids.empty()) return {pid, kids[0]};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {pid, -1};
}

TEST_F(E2E, KilledPeerIsReportedWithinTheDeadline) {
  for (const char* backend : {"posix_shm", "pipe"}) {
    SCOPED_TRACE(backend);
    auto [pid, peer] =
        start_long_run(env_, out_, backend, backend == std::string("pipe") ? "block" : "futex");
    ASSERT_GT(peer, 0);
    kill(peer, SIGKILL);
    double secs = 0;
    int status = wait_with_deadline(pid, 10, &secs);
    ASSERT_NE(status, -1) << "ipcbench hung after its peer died";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
    EXPECT_LT(secs, 5.0);
    std::string all = read_file(out_ + "/stdout") + read_file(out_ + "/stderr");
    EXPECT_NE(all.find("killed by signal 9"), std::string::npos) << all;
  }
}

TEST_F(E2E, HungPeerIsKilledAfterTheStallDeadline) {
  auto [pid, peer] = start_long_run(env_, out_, "sysv_shm", "spin");
  ASSERT_GT(peer, 0);
  kill(peer, SIGSTOP);
  double secs = 0;
  int status = wait_with_deadline(pid, 15, &secs);
  ASSERT_NE(status, -1) << "ipcbench hung with a stopped peer";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  std::string all = read_file(out_ + "/stdout") + read_file(out_ + "/stderr");
  EXPECT_NE(all.find("no progress"), std::string::npos) << all;
}

TEST_F(E2E, InterruptedRunLeaksNothing) {
  for (int sig : {SIGINT, SIGTERM}) {
    auto [pid, peer] = start_long_run(env_, out_, "mmap_file", "posix_sem");
    ASSERT_GT(peer, 0);
    kill(pid, sig);
    int status = wait_with_deadline(pid, 10, nullptr);
    ASSERT_NE(status, -1);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << status;
    // The peer dies with its parent (PR_SET_PDEATHSIG); give the kernel a moment to reap it.
    for (int i = 0; i < 100 && kill(peer, 0) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

TEST_F(E2E, RepeatedRunWritesValidJsonWithAggregates) {
  // Google Benchmark writes NaN for the spread of constant counters; bench.json must stay JSON.
  Outcome o = run_ipcbench({"run", "--backend", "pipe", "--workload", "pingpong", "--size", "64",
                            "--min-time", "0.01", "--repetitions", "2", "--out", out_},
                           env_, 60);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  auto j = nlohmann::json::parse(read_file(out_ + "/bench.json"), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "bench.json is not valid JSON";
  std::set<std::string> aggregates;
  for (const auto& b : j["benchmarks"]) aggregates.insert(b.value("aggregate_name", ""));
  EXPECT_TRUE(aggregates.count("median") && aggregates.count("stddev"));
  EXPECT_NE(read_file(out_ + "/summary.md").find("pipe / block"), std::string::npos);
}

struct BadInput {
  std::vector<std::string> args;
  const char* expect;  // a substring of the one error line
};

TEST_F(E2E, BadInputGetsOneClearLineAndNonZeroExit) {
  const std::vector<BadInput> cases = {
      {{"run", "--backend", "carrier_pigeon"}, "valid: sysv_shm, posix_shm, mmap_file, pipe"},
      {{"run", "--size", "0"}, "at least 1 byte"},
      {{"run", "--size", "12Q"}, "unknown suffix"},
      {{"run", "--size", "abc"}, "not a number"},
      {{"run", "--backend", "pipe", "--sync", "futex"}, "does not fit backend 'pipe'"},
      {{"run", "--out", "/etc/passwd/results"}, "output folder"},
      {{"run", "--verify", "sometimes"}, "unknown mode"},
      {{"run", "--pin", "0,4096"}, "not one this process may run on"},
      {{"run", "--suite", "no-such-suite"}, "cannot read"},
      {{"run", "--frobnicate"}, "unknown option"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = c.args;
    if (std::find(args.begin(), args.end(), "--out") == args.end()) {
      args.push_back("--out");
      args.push_back(out_ + "/bad");
    }
    Outcome o = run_ipcbench(args, env_, 20);
    SCOPED_TRACE(args[1] + " " + (args.size() > 2 ? args[2] : ""));
    EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
    EXPECT_NE(o.err.find(c.expect), std::string::npos) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    EXPECT_FALSE(fs::exists(out_ + "/bad/bench.json"));
  }
}

TEST_F(E2E, ListShowsTheValidityMatrix) {
  Outcome o = run_ipcbench({"list"}, env_, 10);
  ASSERT_EQ(o.exit_code, 0);
  for (const char* word : {"sysv_shm", "posix_shm", "mmap_file", "pipe", "spin", "futex",
                           "posix_sem", "block", "pingpong", "stream"}) {
    EXPECT_NE(o.out.find(word), std::string::npos) << word;
  }
}

}  // namespace
}  // namespace ipcb::test
