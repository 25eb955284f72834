// `ipcbench run`'s preflight end to end: every transport's conformance tests run first and go
// into bench.json; a transport whose tests fail or break is not benchmarked (its benchmarks
// fail naming the test) while the others are; --no-preflight skips it.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

#include "tests/conform_runner_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class Preflight : public RunFolders {
 protected:
  Preflight()
      : RunFolders(
            {.tag = "preflight-", .mmap = true, .env = {}, .leftover = "objects left behind"}) {}
  Outcome run(std::vector<std::string> extra, const std::function<bool()>& prepare = nullptr) {
    std::vector<std::string> args = {
        "run",    "--backend", "posix_shm,pipe", "--sync", "futex,block", "--workload", "pingpong",
        "--size", "64",        "--min-time",     "0.005",  "--no-floors", "--out",      out_};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_prepared(args, env_, prepare, 120);
  }
  // The benchmarks of bench.json by name (without /manual_time).
  std::map<std::string, json> benchmarks(const json& doc) {
    std::map<std::string, json> out;
    for (const auto& b : doc["benchmarks"]) {
      std::string n = b.value("run_name", "");
      out[n.substr(0, n.rfind("/manual_time"))] = b;
    }
    return out;
  }
};

TEST_F(Preflight, EveryTransportIsCheckedAndTheVerdictsRecorded) {
  Outcome o = run({});
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("preflight: "), std::string::npos) << o.out;
  json doc = read_json(out_ + "/bench.json");
  const json& tests = doc["context"]["preflight"]["tests"];
  std::set<std::string> names;
  for (const auto& t : tests) {
    names.insert(t["test"]);
    EXPECT_TRUE(t["verdict"] == "PASS" || t["verdict"] == "SKIP") << t.dump();
  }
  // posix_shm's, futex's and pipe's own tests all ran.
  EXPECT_TRUE(names.count("PosixShm.WritesVisibleToAnotherProcess"));
  EXPECT_TRUE(names.count("Futex.WakeReturnsNumberWokenAcrossProcesses"));
  EXPECT_TRUE(names.count("Pipe.ReadWithNoWritersReturnsEof"));
  EXPECT_LT(doc["context"]["preflight"]["seconds"].get<double>(), 0.5);
}

// A read-only /dev/shm breaks POSIX shared memory: its preflight tests are BROKEN, so
// posix_shm is not benchmarked (and says why), while the pipe still is.
TEST_F(Preflight, ATransportThatFailsItsTestsIsNotBenchmarked) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
  auto read_only_shm = [] {
    return unshare(CLONE_NEWNS) == 0 &&
           mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
           mount("ipcb-ro", "/dev/shm", "tmpfs", MS_RDONLY, "size=1m") == 0;
  };
  Outcome o = run({}, read_only_shm);
  ASSERT_NE(o.exit_code, 126) << "could not make /dev/shm read-only: " << o.err;
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.err.find("pingpong/posix_shm/futex/64: preflight: conformance test PosixShm."),
            std::string::npos)
      << o.err;
  json doc = read_json(out_ + "/bench.json");
  auto b = benchmarks(doc);
  EXPECT_FALSE(b.count("pingpong/posix_shm/futex/64")) << "a refused transport was measured";
  ASSERT_TRUE(b.count("pingpong/pipe/block/64")) << o.out;
  EXPECT_FALSE(b["pingpong/pipe/block/64"].value("error_occurred", false));
  bool broken = false;
  for (const auto& t : doc["context"]["preflight"]["tests"]) {
    broken =
        broken || (std::string(t["test"]).rfind("PosixShm.", 0) == 0 && t["verdict"] == "BROKEN");
  }
  EXPECT_TRUE(broken) << doc["context"]["preflight"].dump();
}

TEST_F(Preflight, NoPreflightRunsNone) {
  Outcome o = run({"--no-preflight", "--backend", "pipe", "--sync", "block"});
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(o.out.find("preflight: "), std::string::npos) << o.out;
  EXPECT_FALSE(read_json(out_ + "/bench.json")["context"].contains("preflight"));
}

}  // namespace
}  // namespace ipcb::test
