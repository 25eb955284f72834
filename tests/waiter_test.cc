// One test suite run against every shared-memory waiter: wake after notify, abort ends a wait,
// no lost wake-up under many fast hand-offs, and it works across processes.
#include "backends/sync/waiter.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "harness/sys.h"

namespace ipcb {
namespace {

// Anonymous shared memory, so a forked child sees the same slots.
struct SharedArea {
  SharedArea() {
    mem = static_cast<std::byte*>(
        mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  }
  ~SharedArea() { munmap(mem, kBytes); }
  static constexpr size_t kBytes = 4096;
  std::byte* mem;
  std::atomic<uint64_t>& word(size_t i) {
    return *reinterpret_cast<std::atomic<uint64_t>*>(mem + 2048 + 64 * i);
  }
  std::byte* slot(size_t i) { return mem + i * Waiter::kSlotBytes; }
};

class WaiterTest : public ::testing::TestWithParam<const char*> {
 protected:
  std::unique_ptr<Waiter> make(std::byte* slot, bool creator) {
    const WaiterInfo* w = find_waiter(GetParam());
    EXPECT_NE(w, nullptr);
    auto r = w->make(slot, creator, ChannelConfig{});
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
  }
};

TEST_P(WaiterTest, WakesAfterNotify) {
  SharedArea a;
  auto creator = make(a.slot(0), true);
  auto other = make(a.slot(0), false);
  std::atomic<bool> abort{false};
  std::thread t([&] {
    sys::sleep_ns(20'000'000);
    a.word(0).store(1, std::memory_order_release);
    creator->notify();
  });
  auto ready = [&] { return a.word(0).load(std::memory_order_acquire) == 1; };
  auto r = other->wait(ready, abort);
  t.join();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
}

TEST_P(WaiterTest, AbortEndsAWaitWithNothingToWaitFor) {
  SharedArea a;
  auto w = make(a.slot(0), true);
  std::atomic<bool> abort{false};
  std::thread t([&] {
    sys::sleep_ns(30'000'000);
    abort.store(true);
  });
  auto never = [] { return false; };
  uint64_t t0 = sys::now_ns();
  auto r = w->wait(never, abort);
  t.join();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_LT(sys::now_ns() - t0, 2'000'000'000u) << "abort must be seen within a slice";
}

// Two processes hand a token back and forth; a lost wake-up hangs and trips the deadline.
TEST_P(WaiterTest, NoLostWakeUpAcrossProcesses) {
  constexpr uint64_t kRounds = 100000;
  SharedArea a;
  auto to_child = make(a.slot(0), true);
  auto to_parent = make(a.slot(1), true);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(60);  // a lost wake-up must not hang the suite
    auto in = make(a.slot(0), false);
    auto out = make(a.slot(1), false);
    std::atomic<bool> abort{false};
    for (uint64_t i = 1; i <= kRounds; ++i) {
      auto ready = [&] { return a.word(0).load(std::memory_order_acquire) >= i; };
      auto r = in->wait(ready, abort);
      if (!r.ok() || !*r) _exit(2);
      a.word(1).store(i, std::memory_order_release);
      out->notify();
    }
    _exit(0);
  }
  std::atomic<bool> abort{false};
  uint64_t t0 = sys::now_ns();
  for (uint64_t i = 1; i <= kRounds; ++i) {
    a.word(0).store(i, std::memory_order_release);
    to_child->notify();
    auto ready = [&] { return a.word(1).load(std::memory_order_acquire) >= i; };
    auto r = to_parent->wait(ready, abort);
    ASSERT_TRUE(r.ok() && *r) << "round " << i;
    ASSERT_LT(sys::now_ns() - t0, 60'000'000'000u) << "stuck: a wake-up was lost";
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

std::vector<const char*> waiter_names() {
  std::vector<const char*> v;
  for (const auto& w : waiters()) v.push_back(w.name);
  return v;
}

INSTANTIATE_TEST_SUITE_P(AllWaiters, WaiterTest, ::testing::ValuesIn(waiter_names()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace ipcb
