// A Ctrl-C (SIGINT) or a SIGKILL at any moment of `ipcbench conform`, followed by `ipcbench
// clean`, leaves no object of the run (every one it journaled is gone: SysV keys, POSIX names,
// FIFOs and folders), no manifest record, and every IPC sysctl at its value from before. Killed
// at fixed moments of the whole suite, and in the middle of a test that holds objects and
// changed sysctls (a self test, so the moment is exact).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/conform_runner_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;

struct Moment {
  int signal;
  int after_ms;              // -1: once the self test holds its objects and sysctls
  bool whole_group = false;  // SIGKILL the test's process group too (nothing can clean up)
};

void PrintTo(const Moment& m, std::ostream* os) {
  *os << strsignal(m.signal)
      << (m.after_ms < 0 ? " mid-test" : " at " + std::to_string(m.after_ms) + " ms")
      << (m.whole_group ? " with its test process" : "");
}

class Interrupted : public ::testing::TestWithParam<Moment> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "changes sysctls: needs root";
    manifest_ = make_temp_dir("conform-manifest");
    dir_ = make_temp_dir("conform-signal");
    sysctls_ = ipc_sysctls();
  }
  void TearDown() override {
    if (manifest_.empty()) return;
    // The safety net: whatever the run left is removed or put back, so a failure here changes
    // nothing on the machine.
    run_ipcbench({"clean"}, {"IPCBENCH_MANIFEST_DIR=" + manifest_}, 30);
    for (const auto& [name, value] : ipc_sysctls()) {
      if (value != sysctls_[name]) write_sysctl(name, sysctls_[name]);
    }
    fs::remove_all(manifest_);
    fs::remove_all(dir_);
  }
  std::string manifest_, dir_;
  std::map<std::string, std::string> sysctls_;
};

long long value_of(const std::string& text) {
  return std::atoll(text.c_str());
}

TEST_P(Interrupted, CleanLeavesNoObjectAndEverySysctlRestored) {
  const Moment m = GetParam();
  const std::string ready = dir_ + "/ready";
  std::vector<std::string> env = {"IPCBENCH_MANIFEST_DIR=" + manifest_};
  std::vector<std::string> args = {"conform", "--out", dir_};
  if (m.after_ms < 0) {
    // A machine-wide sysctl and a per-namespace one, each one below its value now.
    env.push_back("IPCBENCH_RUNNER_SELFTEST=1");
    env.push_back("IPCBENCH_RUNNER_SELFTEST_READY=" + ready);
    env.push_back("IPCBENCH_RUNNER_SELFTEST_SYSCTL=fs.pipe-user-pages-soft=" +
                  std::to_string(value_of(sysctls_["fs/pipe-user-pages-soft"]) - 1) +
                  ",kernel.msgmni=" + std::to_string(value_of(sysctls_["kernel/msgmni"]) - 1));
    args.push_back("--gtest_filter=RunnerSelfTest.HoldsObjectsAndSysctl");
  }
  const std::string journal_before = read_file(journal_path());
  pid_t pid = start_ipcbench(args, env, dir_);
  pid_t test_group = 0;
  if (m.after_ms < 0) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!fs::exists(ready) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_TRUE(fs::exists(ready)) << read_file(dir_ + "/stderr");
    test_group = static_cast<pid_t>(std::atoi(read_file(ready).c_str()));
    ASSERT_NE(ipc_sysctls(), sysctls_) << "the self test changed no sysctl";
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(m.after_ms));
  }
  std::vector<pid_t> groups = child_groups(pid);
  if (test_group > 0) groups.push_back(test_group);
  if (m.whole_group) {
    for (pid_t g : groups) kill(-g, SIGKILL);
  }
  kill(pid, m.signal);
  double seconds = 0;
  int status = wait_with_deadline(pid, 20, &seconds);
  ASSERT_NE(status, -1) << "the run did not end after " << strsignal(m.signal);
  ASSERT_TRUE(wait_groups_gone(groups, 10)) << "a test process outlived the run";
  if (m.after_ms < 0) {
    EXPECT_TRUE(WIFSIGNALED(status)) << "the run ended before the signal";
  }

  Outcome clean = run_ipcbench({"clean"}, {"IPCBENCH_MANIFEST_DIR=" + manifest_}, 30);
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_EQ(ipc_sysctls(), sysctls_) << "a sysctl was not restored; clean said:\n" << clean.out;
  std::set<std::string> left = live_objects(journal_path(), {pid}, {manifest_});
  EXPECT_TRUE(left.empty()) << "left behind: " << ::testing::PrintToString(left)
                            << "\nclean said:\n"
                            << clean.out;
  if (m.after_ms < 0) {
    std::string journaled = read_file(journal_path()).substr(journal_before.size());
    for (const char* kind : {"posix_name ", "sysv_key ", "dir ", "sysctl "}) {
      EXPECT_NE(journaled.find(kind), std::string::npos) << kind << "not journaled:\n" << journaled;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Conform, Interrupted,
    ::testing::Values(Moment{SIGINT, 50}, Moment{SIGINT, 200}, Moment{SIGINT, 500},
                      Moment{SIGKILL, 50}, Moment{SIGKILL, 200}, Moment{SIGKILL, 500},
                      Moment{SIGINT, -1}, Moment{SIGTERM, -1}, Moment{SIGKILL, -1},
                      Moment{SIGKILL, -1, true}, Moment{SIGKILL, 200, true}),
    [](const ::testing::TestParamInfo<Moment>& info) {
      const Moment& m = info.param;
      return std::string(sigabbrev_np(m.signal)) +
             (m.after_ms < 0 ? "_MidTest" : "_At" + std::to_string(m.after_ms) + "ms") +
             (m.whole_group ? "_WithTestProcess" : "");
    });

}  // namespace
}  // namespace ipcb::test
