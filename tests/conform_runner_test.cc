// `ipcbench conform` end to end: exit codes for bad input, the four verdicts (a hang and a
// crash are one test's FAIL and the run goes on), full failure messages, conformance.json and
// JUnit XML, the checklist (no test names a row the checklist lacks), and BROKEN instead of FAIL
// for a read-only /dev/shm and for kernel.shm_rmid_forced=1. The runner's self tests
// (IPCBENCH_RUNNER_SELFTEST=1, suites/conformance/runner_selftest.cc) give it known outcomes.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/conform_runner_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// The runner's self tests on (IPCBENCH_RUNNER_SELFTEST=1); no mmap folder.
class ConformRunner : public RunFolders {
 protected:
  ConformRunner()
      : RunFolders({.tag = "conform-",
                    .mmap = false,
                    .env = {"IPCBENCH_RUNNER_SELFTEST=1"},
                    .leftover = "objects or manifest records left behind"}) {}
  Outcome conform(std::vector<std::string> args, const std::function<bool()>& prepare = nullptr) {
    args.insert(args.begin(), {"conform", "--out", out_});
    return run_prepared(args, env_, prepare);
  }
  json result_file() { return read_json(out_ + "/conformance.json"); }
};

// Exit status 2, one line naming the problem, and nothing written.
TEST_F(ConformRunner, BadInputExitsTwoAndWritesNothing) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--gtest_filter=NoSuchSuite.*"}, "selects no test"},
      {{"--gtest_filter="}, "selects no test"},
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"stray"}, "unknown option 'stray'"},
      {{"--gtest_fliter=SysvShm.*"}, "no flag --gtest_fliter"},
      {{"--gtest_list_test"}, "no flag --gtest_list_test"},
      {{"--gtest_repeat=two"}, "expects an integer"},
      {{"--gtest_repeat=0"}, "1 or more"},
      {{"--gtest_shuffle=maybe"}, "0/1/true/false"},
      {{"--gtest_output=json:x.json"}, "only xml"},
      {{"--gtest_flagfile=f"}, "not supported"},
      {{"--test-timeout=0"}, "--test-timeout"},
      {{"--test-timeout=soon"}, "test-timeout"},
      {{"--from", "/nonexistent/conformance.json"}, "cannot read"},
  };
  for (const auto& [args, says] : cases) {
    SCOPED_TRACE(args.front());
    Outcome o = conform(args);
    EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
    EXPECT_NE(o.err.find(says), std::string::npos) << o.err;
    EXPECT_FALSE(fs::exists(out_ + "/conformance.json"));
  }
  Outcome o = run_prepared(
      {"conform", "--out", "/proc/ipcbench-conform-out", "--gtest_filter=RunnerSelfTest.Passes"},
      env_, nullptr);
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_NE(o.err.find("--out /proc/ipcbench-conform-out"), std::string::npos) << o.err;
}

// --gtest_list_tests lists the selection and exits 0 without writing conformance.json; the
// shared tests' parameter prints as the mechanism's name (ctest's names are stable).
TEST_F(ConformRunner, ListTestsListsAndWritesNothing) {
  std::ofstream(out_ + "/conformance.json") << "{\"kept\": true}\n";
  Outcome o = conform({"--gtest_list_tests", "--gtest_filter=Shared/*:RunnerSelfTest.Passes"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("Shared/ExclusiveCreate.\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\n  FailsWithEexist/posix_mq  # GetParam() = posix_mq\n"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("RunnerSelfTest.\n  Passes\n"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("0x"), std::string::npos) << "a pointer in a test name:\n" << o.out;
  EXPECT_EQ(read_json(out_ + "/conformance.json").value("kept", false), true);
}

// Every verdict from one run: a hang is a FAIL naming the timeout, a crash a FAIL naming the
// signal, and the tests after them still run; every failure line is kept.
TEST_F(ConformRunner, EachVerdictAndTheRunGoesOnPastAHangAndACrash) {
  const std::string xml = out_ + "/junit.xml";
  Outcome o = conform({"--test-timeout=1", "--gtest_filter=RunnerSelfTest.*-*Holds*:*Unknown*",
                       "--gtest_output=xml:" + xml});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_LT(o.seconds, 5) << "the hang was not cut at 1 s";
  json doc = result_file();
  auto r = results_by_test(doc);
  ASSERT_EQ(r.size(), 6u) << doc.dump(1);
  EXPECT_EQ(r["RunnerSelfTest.Passes"]["verdict"], "PASS");
  EXPECT_EQ(r["RunnerSelfTest.Skips"]["verdict"], "SKIP");
  EXPECT_EQ(r["RunnerSelfTest.Skips"]["reason"], "the self test cannot be checked here");
  EXPECT_EQ(r["RunnerSelfTest.SaysBroken"]["verdict"], "BROKEN");
  EXPECT_EQ(r["RunnerSelfTest.SaysBroken"]["reason"], "the self test's set-up broke");
  EXPECT_EQ(r["RunnerSelfTest.Hangs"]["verdict"], "FAIL");
  EXPECT_EQ(r["RunnerSelfTest.Hangs"]["reason"], "timed out after 1 s");
  EXPECT_EQ(r["RunnerSelfTest.Crashes"]["verdict"], "FAIL");
  EXPECT_NE(r["RunnerSelfTest.Crashes"]["reason"].get<std::string>().find("signal 11"),
            std::string::npos);
  const json& two = r["RunnerSelfTest.FailsTwice"];
  EXPECT_EQ(two["verdict"], "FAIL");
  ASSERT_EQ(two["failures"].size(), 2u) << two.dump(1);
  EXPECT_NE(two["failures"][0].get<std::string>().find("the first failure\nhas a second line"),
            std::string::npos);
  EXPECT_NE(two["failures"][1].get<std::string>().find("the second failure\nalso has two lines"),
            std::string::npos);
  EXPECT_EQ(doc["counts"], json({{"PASS", 1}, {"FAIL", 3}, {"SKIP", 1}, {"BROKEN", 1}}));
  const std::string junit = read_file(xml);
  EXPECT_NE(junit.find("<testsuites tests=\"6\" failures=\"3\" errors=\"1\" skipped=\"1\""),
            std::string::npos)
      << junit;
  EXPECT_NE(junit.find("the second failure\nalso has two lines"), std::string::npos) << junit;
}

// conformance.json describes the run and the machine it ran on.
TEST_F(ConformRunner, ResultsCarryVersionCommitAndEnvironment) {
  Outcome o = conform({"--gtest_filter=RunnerSelfTest.Passes"});
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json doc = result_file();
  EXPECT_EQ(doc["ipcbench_conformance_schema_version"], 2);
  EXPECT_TRUE(doc["ipcbench_version"].is_string());
  EXPECT_TRUE(doc.contains("ipcbench_commit"));
  const json& env = doc["environment"];
  for (const char* key : {"kernel", "glibc", "uid", "euid", "capabilities", "namespaces", "sysctls",
                          "rlimits", "filesystems", "preconditions"}) {
    EXPECT_TRUE(env.contains(key)) << key;
  }
  EXPECT_TRUE(env["capabilities"].contains("CAP_IPC_OWNER"));
  EXPECT_TRUE(env["namespaces"]["ipc"]["self"].is_string());
  EXPECT_TRUE(env["sysctls"].contains("kernel.shm_rmid_forced"));
  EXPECT_TRUE(env["sysctls"].contains("fs.pipe-user-pages-soft"));
  EXPECT_TRUE(env["rlimits"].contains("RLIMIT_MSGQUEUE"));
  EXPECT_EQ(env["filesystems"]["/dev/shm"]["present"], true);
  EXPECT_EQ(doc["results"][0]["rows"], "S01");
  EXPECT_EQ(doc["checklist"]["mechanisms"]["sysv_shm"]["covered"], json::array({"S01"}));
}

TEST_F(ConformRunner, FailFastStopsAndRepeatRepeats) {
  Outcome o =
      conform({"--gtest_filter=RunnerSelfTest.Passes:RunnerSelfTest.FailsTwice:"
               "RunnerSelfTest.Skips",
               "--gtest_fail_fast"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(result_file()["results"].size(), 2u);
  o = conform({"--gtest_filter=RunnerSelfTest.Passes", "--gtest_repeat=3"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(result_file()["results"].size(), 3u);
}

// A row ID no checklist row has is an error of the run; --from reads results back.
TEST_F(ConformRunner, UnknownChecklistRowFailsTheRunAndFromReadsResults) {
  Outcome o = conform({"--gtest_filter=RunnerSelfTest.NamesAnUnknownRow", "--checklist"});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("RunnerSelfTest.NamesAnUnknownRow: ZZ99"), std::string::npos) << o.out;
  EXPECT_EQ(result_file()["checklist"]["unknown_rows"],
            json::array({"RunnerSelfTest.NamesAnUnknownRow: ZZ99"}));
  const std::string saved = out_ + "/unknown.json";
  fs::rename(out_ + "/conformance.json", saved);
  o = conform({"--from", saved});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("ZZ99"), std::string::npos) << o.out;
  EXPECT_EQ(conform({"--from", saved, "--gtest_filter=X"}).exit_code, 2);

  o = conform({"--gtest_filter=RunnerSelfTest.Passes"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  o = conform({"--from", out_ + "/conformance.json"});
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("sysv_shm"), std::string::npos) << o.out;
}

// The whole suite: fast, every row ID a test names is in the checklist, names are stable.
TEST_F(ConformRunner, WholeSuiteNamesOnlyChecklistRowsAndStableNames) {
  env_ = {"IPCBENCH_MANIFEST_DIR=" + manifest_};
  Outcome o = conform({"--checklist"});
  ASSERT_NE(o.exit_code, 2) << o.err;
  json doc = result_file();
  EXPECT_EQ(doc["checklist"]["unknown_rows"], json::array()) << o.out;
  EXPECT_LT(doc["seconds"].get<double>(), 60);
  std::set<std::string> names;
  for (const auto& r : doc["results"]) {
    std::string t = r["test"];
    EXPECT_TRUE(names.insert(t).second) << "two tests named " << t;
    EXPECT_EQ(t.find("0x"), std::string::npos) << t;
  }
  EXPECT_GT(names.size(), 300u);
}

// A read-only /dev/shm (a private mount namespace with a read-only tmpfs over it): the POSIX
// shm and semaphore tests that fail are BROKEN, naming /dev/shm, and none is a FAIL.
TEST_F(ConformRunner, ReadOnlyDevShmIsBrokenNeverFail) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
  Outcome o = conform({"--gtest_filter=PosixShm.*:PosixSem.*:Shared/*/posix_s*"}, [] {
    return unshare(CLONE_NEWNS) == 0 &&
           mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
           mount("ipcb-ro", "/dev/shm", "tmpfs", MS_RDONLY, "size=1m") == 0;
  });
  ASSERT_NE(o.exit_code, 126) << "could not make /dev/shm read-only: " << o.err;
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json doc = result_file();
  EXPECT_EQ(doc["environment"]["filesystems"]["/dev/shm"]["read_only"], true);
  EXPECT_EQ(doc["counts"]["FAIL"], 0) << o.out;
  EXPECT_GE(doc["counts"]["BROKEN"].get<int>(), 20) << o.out;
  for (const auto& r : doc["results"]) {
    if (r["verdict"] != "BROKEN") continue;
    EXPECT_EQ(r["precondition"], "dev_shm") << r.dump();
    EXPECT_NE(r["reason"].get<std::string>().find("/dev/shm is mounted read-only"),
              std::string::npos);
    EXPECT_FALSE(r["failures"].empty());
  }
}

// kernel.shm_rmid_forced=1 (set in a private IPC namespace): the SysV shm tests that fail are
// BROKEN, naming the sysctl, and none is a FAIL.
TEST_F(ConformRunner, ShmRmidForcedIsBrokenNeverFail) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to set kernel.shm_rmid_forced in a namespace";
  Outcome o = conform({"--gtest_filter=SysvShm.*:Shared/*/sysv_shm"}, [] {
    return unshare(CLONE_NEWIPC) == 0 && write_sysctl("kernel.shm_rmid_forced", "1");
  });
  ASSERT_NE(o.exit_code, 126) << "could not set kernel.shm_rmid_forced: " << o.err;
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json doc = result_file();
  EXPECT_EQ(doc["environment"]["sysctls"]["kernel.shm_rmid_forced"], "1");
  EXPECT_EQ(doc["counts"]["FAIL"], 0) << o.out;
  EXPECT_GE(doc["counts"]["BROKEN"].get<int>(), 1) << o.out;
  for (const auto& r : doc["results"]) {
    if (r["verdict"] == "BROKEN") {
      EXPECT_EQ(r["precondition"], "shm_rmid_forced") << r.dump();
    }
  }
}

}  // namespace
}  // namespace ipcb::test
