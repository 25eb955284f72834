// Tests that exist only for the runner's own tests (tests/conform_runner_test.cc), registered
// when IPCBENCH_RUNNER_SELFTEST=1: each shows the runner one kind of outcome (a pass, failures,
// a hang, a crash, a BROKEN, a skip, an unknown checklist row) or holds objects and a changed
// sysctl until it is killed, so a test can interrupt a run at a known moment.
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/runner_internal.h"

namespace ipcb::runner {
namespace {

class SelfTest : public ::testing::Test {
 public:
  explicit SelfTest(std::function<void()> body) : body_(std::move(body)) {}
  void TestBody() override { body_(); }

 private:
  std::function<void()> body_;
};

void add(const char* name, std::function<void()> body) {
  ::testing::RegisterTest("RunnerSelfTest", name, nullptr, nullptr, __FILE__, __LINE__,
                          [body]() -> ::testing::Test* { return new SelfTest(body); });
}

// Makes one object of every kind the manifest tracks for the conformance tests, changes the
// sysctls $IPCBENCH_RUNNER_SELFTEST_SYSCTL ("name=value,name=value") if given, creates the file
// $IPCBENCH_RUNNER_SELFTEST_READY, then waits to be killed (30 s at most).
void hold() {
  using conform::Cleanup;
  std::string shm = conform::unique_name(), mq = conform::unique_name();
  std::string sem = conform::unique_name();
  key_t key = conform::unique_key();
  conform::TempDir dir;
  int fd = ::shm_open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  Cleanup shm_gone([&] { ::close(fd), ::shm_unlink(shm.c_str()); });
  mq_attr a{};
  a.mq_maxmsg = 1;
  a.mq_msgsize = 1;
  mqd_t q = ::mq_open(mq.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &a);
  ASSERT_NE(q, static_cast<mqd_t>(-1)) << std::strerror(errno);
  Cleanup mq_gone([&] { ::mq_close(q), ::mq_unlink(mq.c_str()); });
  sem_t* s = ::sem_open(sem.c_str(), O_CREAT | O_EXCL, 0600, 0);
  ASSERT_NE(s, SEM_FAILED) << std::strerror(errno);
  Cleanup sem_gone([&] { ::sem_close(s), ::sem_unlink(sem.c_str()); });
  int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  Cleanup msg_gone([&] { ::msgctl(id, IPC_RMID, nullptr); });
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0) << std::strerror(errno);
  std::vector<std::unique_ptr<conform::SysctlGuard>> guards;
  if (const char* sc = std::getenv("IPCBENCH_RUNNER_SELFTEST_SYSCTL")) {
    std::istringstream specs(sc);
    for (std::string spec; std::getline(specs, spec, ',');) {
      auto eq = spec.find('=');
      ASSERT_NE(eq, std::string::npos) << "IPCBENCH_RUNNER_SELFTEST_SYSCTL is name=value,...";
      guards.push_back(std::make_unique<conform::SysctlGuard>(spec.substr(0, eq),
                                                              std::atoll(spec.c_str() + eq + 1)));
      ASSERT_TRUE(guards.back()->ok()) << "cannot set " << spec;
    }
  }
  if (const char* ready = std::getenv("IPCBENCH_RUNNER_SELFTEST_READY")) {
    std::ofstream(ready) << ::getpid() << "\n";
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

void register_selftests_if_asked() {
  const char* on = std::getenv("IPCBENCH_RUNNER_SELFTEST");
  static bool done = false;
  if (on == nullptr || std::strcmp(on, "1") != 0 || done) return;
  done = true;
  add("Passes", [] { CONFORM_ROWS("S01"); });
  add("FailsTwice", [] {
    CONFORM_ROWS("S02");
    EXPECT_EQ(1, 2) << "the first failure\nhas a second line";
    ADD_FAILURE() << "the second failure\nalso has two lines";
  });
  add("Skips", [] { CONFORM_SKIP("the self test cannot be checked here"); });
  add("SaysBroken", [] { CONFORM_BROKEN("the self test's set-up broke"); });
  add("Hangs", [] {
    for (;;) ::pause();
  });
  add("Crashes", [] {
    ::signal(SIGSEGV, SIG_DFL);  // the same death in sanitizer builds, whose handler would exit
    ::raise(SIGSEGV);
  });
  add("NamesAnUnknownRow", [] { CONFORM_ROWS("S01 ZZ99"); });
  add("HoldsObjectsAndSysctl", hold);
}

}  // namespace ipcb::runner
