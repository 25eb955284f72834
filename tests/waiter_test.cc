// One suite run against every shared-memory waiter (as abseil's waiter_test does): a wait ends
// after a notify, `abort` ends a wait that nothing answers, no wake-up is lost in a million fast
// hand-offs, and it works across processes. Every test also checks that the waiter left nothing
// behind: no descriptor, and for sysv_sem no semaphore set (svipc(7)).
#include "tests/waiter_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "backends/sync/sysv_sem.h"
#include "harness/sys/sys.h"

namespace ipcb::waiter_test {
namespace {

TEST_P(WaiterTest, WakesSoonAfterNotify) {
  auto notifier = make(0, true);
  auto waiter = make(0, false);
  ASSERT_TRUE(notifier && waiter);
  std::atomic<bool> abort{false};
  // The publish falls mid-slice: a notify that wakes nobody shows as ~5 ms, a working one as µs.
  uint64_t best = UINT64_MAX;
  for (uint64_t round = 1; round <= 5; ++round) {
    std::atomic<uint64_t> published{0};
    std::thread t([&] {
      sys::sleep_ns(15 * kMs);
      published.store(sys::now_ns());
      area_.word(0).store(round, std::memory_order_release);
      notifier->notify();
    });
    auto ready = [&] { return area_.word(0).load(std::memory_order_acquire) == round; };
    auto r = waiter->wait(ready, abort);
    uint64_t woke = sys::now_ns();
    t.join();
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_TRUE(*r);
    best = std::min(best, woke - published.load());
  }
  EXPECT_LT(best, 2 * kMs) << "woken only by the end of a slice: the notify was lost";
}

// The race every blocking waiter must get right: the progress is published and notified just
// after the waiter's last look at the condition and before it sleeps. The test forces that
// interleaving: the k-th look (k = 1, 2, 3 covers the first check, the re-check after the
// announcement and condvar's re-check under its mutex), once the waiter sleeps in slices, asks
// the notifier to publish and notify, gives it up to 5 ms, then reports the stale "not ready".
// A lost wake-up shows as the rest of a slice (~10 ms) before the wait returns.
TEST_P(WaiterTest, NotifyRacingWithTheLastCheckIsNotLost) {
  auto notifier = make(0, true);
  auto waiter = make(0, false);
  ASSERT_TRUE(notifier && waiter);
  std::atomic<bool> abort{false};
  for (uint64_t k = 1; k <= 3; ++k) {
    std::atomic<uint64_t>& word = area_.word(0);
    word.store(0);
    std::atomic<int> phase{0};  // 1: publish now; 2: published and notified
    std::thread t([&] {
      while (phase.load() == 0) sys::sleep_ns(20'000);
      word.store(1, std::memory_order_release);
      notifier->notify();
      phase.store(2);
    });
    uint64_t start = sys::now_ns(), looks = 0, stale_at = 0;
    auto ready = [&] {
      bool v = word.load(std::memory_order_acquire) == 1;
      if (stale_at != 0 || sys::now_ns() - start < 25 * kMs || ++looks < k) return v;
      phase.store(1);
      for (uint64_t end = sys::now_ns() + 5 * kMs; phase.load() != 2 && sys::now_ns() < end;)
        sys::sleep_ns(50'000);  // the notifier may be blocked by us (condvar's mutex): fine
      stale_at = sys::now_ns();
      return v;  // read before the publish: stale
    };
    auto r = waiter->wait(ready, abort);
    uint64_t took = sys::now_ns() - stale_at;
    t.join();
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(*r);
    ASSERT_NE(stale_at, 0u);
    EXPECT_LT(took, Waiter::kSliceNs / 2)
        << "the wake-up racing with look " << k << " was lost (woken by the slice's end)";
  }
}

TEST_P(WaiterTest, AbortEndsAWaitThatNothingAnswers) {
  auto notifier = make(0, true);
  auto waiter = make(0, false);
  ASSERT_TRUE(notifier && waiter);
  std::atomic<bool> abort{false};
  std::atomic<uint64_t> raised{0};
  std::thread t([&] {
    sys::sleep_ns(30 * kMs);
    raised.store(sys::now_ns());
    abort.store(true);
  });
  auto never = [] { return false; };
  auto r = waiter->wait(never, abort);
  uint64_t ended = sys::now_ns();
  t.join();
  if (r.ok()) {
    EXPECT_FALSE(*r) << "a condition that never held was reported ready";
  }
  EXPECT_LT(ended - raised.load(), 5 * Waiter::kSliceNs) << "abort must be seen within a slice";
}

TEST_P(WaiterTest, AbortRaisedBeforeTheWaitStillSeesAnAnswer) {
  auto waiter = make(0, true);
  ASSERT_TRUE(waiter);
  std::atomic<bool> abort{true};
  auto yes = [] { return true; };
  auto no = [] { return false; };
  auto r = waiter->wait(yes, abort);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(*r) << "the peer may answer, then exit: the answer counts";
  uint64_t t0 = sys::now_ns();
  r = waiter->wait(no, abort);
  EXPECT_TRUE(!r.ok() || !*r);
  EXPECT_LT(sys::now_ns() - t0, 2 * Waiter::kSliceNs);
}

// Two threads ping-pong a counter through two slots; a lost wake-up shows as a slow hand-off,
// and a wake-up that never comes trips the watchdog (a failure, not a hung suite).
TEST_P(WaiterTest, NoLostWakeUpInAMillionHandOffs) {
  auto a_out = make(0, true), a_in = make(1, true);  // side A: notifies slot 0, waits on 1
  auto b_in = make(0, false), b_out = make(1, false);
  ASSERT_TRUE(a_out && a_in && b_in && b_out);
  Plan plan = plan_for(GetParam(), *a_in);
  if (!have_cpus(plan)) GTEST_SKIP() << "a polling waiter needs two CPUs";
  std::atomic<bool> abort{false};
  std::atomic<uint64_t>& counter = area_.word(0);
  std::string err_a, err_b;
  HandOffStats st_a, st_b;
  uint64_t t0 = sys::now_ns();
  {
    Watchdog dog(abort, [] { return false; });
    std::thread b([&] {
      (void)sys::pin_to_cpu(gettid(), cpu(1, plan));
      err_b = hand_off(counter, 1, plan.handoffs, *b_in, *b_out, abort, st_b);
    });
    std::thread a([&] {
      (void)sys::pin_to_cpu(gettid(), cpu(0, plan));
      err_a = hand_off(counter, 0, plan.handoffs, *a_in, *a_out, abort, st_a);
    });
    a.join();
    b.join();
  }
  uint64_t took = sys::now_ns() - t0;
  print_time(GetParam(), plan.same_cpu ? "hand-offs, one CPU" : "hand-offs, two CPUs", took,
             plan.handoffs);
  RecordProperty("handoff_ms", std::to_string(took / kMs));
  EXPECT_EQ(err_a, "");
  EXPECT_EQ(err_b, "");
  EXPECT_EQ(counter.load(), plan.handoffs);
  // Preemption by other work may stall a few hand-offs that long; lost wake-ups stall many.
  EXPECT_LE(st_a.slow + st_b.slow, plan.handoffs / 1'000)
      << "hand-offs that took most of a slice (lost wake-ups?); longest "
      << std::max(st_a.max_ns, st_b.max_ns) / 1000 << " us";
}

// The child opens the waiters as the peer does (descriptors inherited by fork, keys read from
// the slots) and the two processes hand off 10,000 times.
TEST_P(WaiterTest, WorksAcrossProcesses) {
  constexpr uint64_t kHandOffs = 10'000;
  auto out = make(0, true), in = make(1, true);
  ASSERT_TRUE(out && in);
  Plan plan = plan_for(GetParam(), *in);
  if (!have_cpus(plan)) GTEST_SKIP() << "a polling waiter needs two CPUs";
  std::atomic<uint64_t>& counter = area_.word(0);
  int child_cpu = cpu(1, plan), parent_cpu = cpu(0, plan);
  uint64_t t0 = sys::now_ns();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(kWatchdogNs / 1'000'000'000);  // the child's own deadline
    (void)sys::pin_to_cpu(0, child_cpu);
    int code = 0;
    {
      auto c_in = info_->make(area_.slot(0), false, test_config());
      auto c_out = info_->make(area_.slot(1), false, test_config());
      if (!c_in.ok() || !c_out.ok()) _exit(2);
      std::atomic<bool> never{false};
      HandOffStats st;
      if (!hand_off(counter, 1, kHandOffs, **c_in, **c_out, never, st).empty()) code = 3;
    }  // the child's waiters close what they opened
    _exit(code);
  }
  std::atomic<bool> abort{false};
  std::string err;
  {
    Watchdog dog(abort, [pid] {
      siginfo_t si{};
      return waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
    });
    std::thread a([&] {
      (void)sys::pin_to_cpu(gettid(), parent_cpu);
      HandOffStats st;
      err = hand_off(counter, 0, kHandOffs, *in, *out, abort, st);
    });
    a.join();
  }
  if (!err.empty()) kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  print_time(GetParam(), "hand-offs, processes", sys::now_ns() - t0, kHandOffs);
  EXPECT_EQ(err, "");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "child status " << status << " (exit 2: open failed, 3: hand-off failed)";
  EXPECT_EQ(counter.load(), kHandOffs);
}

std::vector<const char*> waiter_names() {
  std::vector<const char*> v;
  for (const auto& w : waiters()) v.push_back(w.name);
  return v;
}

INSTANTIATE_TEST_SUITE_P(AllWaiters, WaiterTest, ::testing::ValuesIn(waiter_names()),
                         [](const auto& info) { return std::string(info.param); });

TEST(WaiterRegistry, ListsEveryWaiterOnceWithAOneLineDescription) {
  std::vector<std::string> names;
  for (const auto& w : waiters()) {
    names.emplace_back(w.name);
    EXPECT_NE(std::string(w.description), "");
    EXPECT_EQ(std::string(w.description).find('\n'), std::string::npos);
    EXPECT_EQ(find_waiter(w.name), &w);
  }
  for (const char* want : {"spin", "yield", "sleep", "futex", "adaptive", "posix_sem", "sysv_sem",
                           "condvar", "eventfd"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), want), 1) << want;
  }
  EXPECT_EQ(find_waiter("nonesuch"), nullptr);
}

}  // namespace
}  // namespace ipcb::waiter_test
