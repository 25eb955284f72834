// End to end through the real binary, with a peer that misbehaves: a killed peer is reported
// within the deadline, a hung one is killed after the stall deadline, and an interrupted run
// leaks nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <thread>

#include "tests/e2e_fixture.h"
#include "tests/process_util.h"

namespace ipcb::test {
namespace {

// Starts a long pingpong and returns (ipcbench pid, peer pid) once the run is in its long
// measured call (Google Benchmark first makes a few short calls, each with its own peer).
std::pair<pid_t, pid_t> start_long_run(const std::vector<std::string>& env, const std::string& out,
                                       const std::string& backend, const std::string& sync) {
  pid_t pid = start_ipcbench(
      {"run", "--backend", backend, "--sync", sync, "--workload", "pingpong", "--size", "64",
       "--mode", "copy", "--min-time", "30", "--timeout-ms", "1000", "--out", out},
      env, out);
  // A peer that lives on for half a second belongs to the long call (the sizing calls, and
  // the floors measured before them, take less).
  pid_t seen = -1;
  for (int i = 0; i < 2000; ++i) {
    auto kids = children_of(pid);
    pid_t now = kids.empty() ? -1 : kids[0];
    if (now != seen) {
      seen = now;
      i = 0;  // restart the half second for the new peer
    } else if (now > 0 && i >= 50) {
      return {pid, now};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {pid, -1};
}

// Sends `sig` to the peer of a long run (output in `out`), then waits up to wait_s for ipcbench:
// it must end by itself (`hung` is the failure if not) with status 1, its output saying `says`.
// *secs: how long it took.
void expect_run_fails_when_peer_gets(int sig, pid_t pid, pid_t peer, double wait_s,
                                     const char* hung, const std::string& out, const char* says,
                                     double* secs) {
  kill(peer, sig);
  int status = wait_with_deadline(pid, wait_s, secs);
  ASSERT_NE(status, -1) << hung;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  std::string all = read_file(out + "/stdout") + read_file(out + "/stderr");
  EXPECT_NE(all.find(says), std::string::npos) << all;
}

TEST_F(E2E, KilledPeerIsReportedWithinTheDeadline) {
  for (const char* backend : {"posix_shm", "pipe"}) {
    SCOPED_TRACE(backend);
    auto [pid, peer] =
        start_long_run(env_, out_, backend, backend == std::string("pipe") ? "block" : "futex");
    ASSERT_GT(peer, 0);
    double secs = 0;
    ASSERT_NO_FATAL_FAILURE(expect_run_fails_when_peer_gets(SIGKILL, pid, peer, 10,
                                                            "ipcbench hung after its peer died",
                                                            out_, "killed by signal 9", &secs));
    EXPECT_LT(secs, 5.0);
  }
}

TEST_F(E2E, HungPeerIsKilledAfterTheStallDeadline) {
  auto [pid, peer] = start_long_run(env_, out_, "sysv_shm", "spin");
  ASSERT_GT(peer, 0);
  expect_run_fails_when_peer_gets(SIGSTOP, pid, peer, 15, "ipcbench hung with a stopped peer", out_,
                                  "no progress", nullptr);
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

}  // namespace
}  // namespace ipcb::test
