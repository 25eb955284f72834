// The waiters when things go wrong: a peer killed inside a wait must not hang the creator, an
// opener refuses a garbage or stale slot, and only the creator removes a SysV semaphore set.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "tests/waiter_fixture.h"

namespace ipcb::waiter_test {
namespace {

// A peer killed inside a wait (the runner's watchdog does that to a hung peer) must not make the
// creator hang: not its notifies, not its destruction (glibc's pthread_cond_destroy waits for
// every waiter to leave, also a dead one). The peer dies asleep, or in its third look at the
// condition (for condvar: holding the robust mutex, so the next locker sees EOWNERDEAD); after
// the latter, a new waiter on the slot must work too. (After the former, a glibc condvar cannot
// take a new waiter: its broadcast waits for the dead one to leave. A slot never gets a second
// peer, so that is not asked of it.)
TEST_P(WaiterTest, CreatorOutlivesAPeerKilledInAWait) {
  for (int dies_in_look : {0, 3}) {  // 0: killed while asleep
    auto notifier = make(0, true);
    ASSERT_TRUE(notifier);
    area_.word(0).store(0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(kWatchdogNs / 1'000'000'000);
      auto w = info_->make(area_.slot(0), false, test_config());
      if (!w.ok()) _exit(2);
      std::atomic<bool> never{false};
      int looks = 0;
      auto no = [&] {
        if (++looks == dies_in_look) raise(SIGKILL);
        return false;
      };
      (void)(*w)->wait(no, never);
      _exit(3);
    }
    if (dies_in_look == 0) sys::sleep_ns(30 * kMs);  // the child is asleep in its wait by now
    if (dies_in_look == 0) kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    // The rest runs on a thread, so that a hang is a failure rather than a hung suite.
    auto waiter = make(0, false);
    ASSERT_TRUE(waiter);
    auto done = std::make_shared<std::atomic<int>>(0);  // 1: ok, 2: failed
    std::thread t(
        [this, done, dies_in_look, n = std::move(notifier), w = std::move(waiter)]() mutable {
          for (int i = 0; i < 3; ++i) n->notify();
          if (dies_in_look == 0) {
            n.reset();
            done->store(1);
            return;
          }
          std::atomic<bool> abort{false};
          std::thread pub([&] {
            sys::sleep_ns(15 * kMs);
            area_.word(0).store(1, std::memory_order_release);
            n->notify();
          });
          auto ready = [&] { return area_.word(0).load(std::memory_order_acquire) == 1; };
          auto r = w->wait(ready, abort);
          pub.join();
          w.reset();
          n.reset();
          done->store(r.ok() && *r ? 1 : 2);
        });
    for (uint64_t end = sys::now_ns() + 2'000 * kMs; done->load() == 0 && sys::now_ns() < end;)
      sys::sleep_ns(kMs);
    if (done->load() != 0) {
      t.join();
      EXPECT_EQ(done->load(), 1) << "a wait after the peer died (look " << dies_in_look
                                 << ") failed";
    } else {
      t.detach();  // stuck for good: leave it, the failure says why
      FAIL() << "notify, wait or destruction hangs after the peer died in a wait (look "
             << dies_in_look << ")";
    }
  }
}

// Waiters whose slot names a kernel object must refuse a slot that names garbage or an object
// that is gone (or, for eventfd, a descriptor that is no eventfd), instead of using it.
class HandleWaiterTest : public ::testing::TestWithParam<const char*> {};

TEST_P(HandleWaiterTest, OpenerRefusesGarbageAndStaleSlots) {
  SharedArea a;
  ASSERT_NE(a.mem, nullptr);
  const WaiterInfo* w = find_waiter(GetParam());
  ASSERT_NE(w, nullptr);
  std::memset(a.slot(1), 0xFF, Waiter::kSlotBytes);
  EXPECT_FALSE(w->make(a.slot(1), false, test_config()).ok()) << "garbage slot accepted";
  {
    auto creator = w->make(a.slot(0), true, test_config());
    ASSERT_TRUE(creator.ok()) << creator.error().message();
    std::memcpy(a.slot(1), a.slot(0), Waiter::kSlotBytes);
  }
  // The descriptor number freed above is the lowest free one: a pipe now takes it.
  auto p = sys::make_pipe(O_CLOEXEC);
  ASSERT_TRUE(p.ok());
  auto stale = w->make(a.slot(1), false, test_config());
  EXPECT_FALSE(stale.ok()) << "a slot naming a removed object was accepted";
}

INSTANTIATE_TEST_SUITE_P(HandleWaiters, HandleWaiterTest, ::testing::Values("sysv_sem", "eventfd"),
                         [](const auto& info) { return std::string(info.param); });

TEST(SysvSemWaiter, OnlyTheCreatorRemovesTheSet) {
  SharedArea a;
  ASSERT_NE(a.mem, nullptr);
  const WaiterInfo* w = find_waiter("sysv_sem");
  ASSERT_NE(w, nullptr);
  auto made = w->make(a.slot(0), true, test_config());
  ASSERT_TRUE(made.ok()) << made.error().message();
  std::unique_ptr<Waiter> creator = std::move(made).value();
  key_t key = sysv_sem_key(a.slot(0));
  ASSERT_GT(key, 0);
  int id = semget(key, 0, 0);
  ASSERT_GE(id, 0) << "the set of key " << key << " does not exist";
  {
    auto opener = w->make(a.slot(0), false, test_config());
    ASSERT_TRUE(opener.ok()) << opener.error().message();
  }
  EXPECT_EQ(semget(key, 0, 0), id) << "the opener removed the set";
  creator.reset();
  errno = 0;
  EXPECT_EQ(semget(key, 0, 0), -1);
  EXPECT_EQ(errno, ENOENT) << "the creator left its semaphore set behind";
}

}  // namespace
}  // namespace ipcb::waiter_test
