// What the waiter tests share: a shared anonymous area with waiter slots, the test
// configuration, a watchdog that turns a lost wake-up into a failure, the hand-off loop and
// the fixture run against every registered waiter (see waiter_test.cc, waiter_crash_test.cc).
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/sem.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backends/sync/sysv_sem.h"
#include "backends/sync/waiter.h"
#include "harness/sys/sys.h"

namespace ipcb::waiter_test {

inline constexpr uint64_t kMs = 1'000'000;
inline constexpr uint64_t kWatchdogNs = 60'000 * kMs;  // a lost wake-up fails here, never hangs
// A wake-up lost by a blocking waiter is only noticed when its slice ends: a hand-off that took
// most of a slice is counted as (probably) lost.
inline constexpr uint64_t kSlowNs = Waiter::kSliceNs * 8 / 10;

// Anonymous shared memory, so a forked child sees the same slots: 4 slots, then counters.
struct SharedArea {
  SharedArea() {
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    mem = p == MAP_FAILED ? nullptr : static_cast<std::byte*>(p);
  }
  ~SharedArea() {
    if (mem != nullptr) munmap(mem, kBytes);
  }
  static constexpr size_t kBytes = 4096;
  std::byte* mem;
  std::atomic<uint64_t>& word(size_t i) {
    return *reinterpret_cast<std::atomic<uint64_t>*>(mem + 2048 + 64 * i);
  }
  std::byte* slot(size_t i) { return mem + i * Waiter::kSlotBytes; }
};

// A 1 µs nap, so that `sleep` hand-offs cost little; everything else as the CLI's defaults.
inline ChannelConfig test_config() {
  ChannelConfig c;
  c.sleep_ns = 1000;
  return c;
}

inline int open_fd_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

inline void print_time(const char* waiter, const char* what, uint64_t ns, uint64_t handoffs) {
  std::printf("[   time   ] %-9s %-22s %8.1f ms, %7.2f us per hand-off\n", waiter, what,
              static_cast<double>(ns) / 1e6, static_cast<double>(ns) / 1e3 / handoffs);
}

// Raises `abort` after kWatchdogNs, or at once when `gone()` says the other side died.
class Watchdog {
 public:
  template <typename Gone>
  Watchdog(std::atomic<bool>& abort, Gone gone)
      : thread_([this, &abort, gone] {
          uint64_t end = sys::now_ns() + kWatchdogNs;
          while (!done_.load()) {
            if (sys::now_ns() > end || gone()) {
              abort.store(true);
              return;
            }
            sys::sleep_ns(kMs);
          }
        }) {}
  ~Watchdog() {
    done_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// One side of a ping-pong on a shared counter: waits (on `in`) until the counter has its
// parity, bumps it, notifies (on `out`); until the counter reaches `total`. Returns "" or what
// went wrong.
struct HandOffStats {
  uint64_t slow = 0;
  uint64_t max_ns = 0;
};
inline std::string hand_off(std::atomic<uint64_t>& counter, uint64_t parity, uint64_t total,
                            Waiter& in, Waiter& out, const std::atomic<bool>& abort,
                            HandOffStats& stats) {
  for (;;) {
    uint64_t v = 0;
    auto mine = [&] {
      v = counter.load(std::memory_order_acquire);
      return v >= total || (v & 1) == parity;
    };
    uint64_t t0 = sys::now_ns();
    auto r = in.wait(mine, abort);
    uint64_t dt = sys::now_ns() - t0;
    if (!r.ok()) return r.error().message();
    if (!*r) return "aborted at hand-off " + std::to_string(v) + " of " + std::to_string(total);
    if (v >= total) return "";
    if (dt > kSlowNs) ++stats.slow;
    stats.max_ns = std::max(stats.max_ns, dt);
    counter.store(v + 1, std::memory_order_release);
    out.notify();
  }
}

// Where the two sides of a hand-off run, and how many hand-offs: blocking waiters on one CPU
// (a hand-off there costs ~1-2 µs, across CPUs ~30 µs on the 2-vCPU reference VM), the ones that
// poll on two CPUs (on one, each hand-off waits for the poller's time slice to end).
struct Plan {
  bool same_cpu;
  uint64_t handoffs;
};
inline Plan plan_for(const std::string& name, const Waiter& w) {
  // `sleep` pays a nap plus timer slack per hand-off whatever the placement: measured ~42 µs per
  // hand-off (2-vCPU VM), so a million would take ~42 s, half the suite's budget; 100,000 take
  // ~4.2 s. It cannot lose a wake-up (it has none), so fewer rounds lose no coverage.
  if (name == "sleep") return {false, 100'000};
  return {std::string(w.wait_mode()) == "block", 1'000'000};
}

class WaiterTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_NE(area_.mem, nullptr) << "mmap(MAP_SHARED|MAP_ANONYMOUS) failed";
    info_ = find_waiter(GetParam());
    ASSERT_NE(info_, nullptr);
    fds_before_ = open_fd_count();
  }
  void TearDown() override {
    EXPECT_EQ(open_fd_count(), fds_before_) << "the waiters left descriptors open";
    for (key_t key : sem_keys_) {
      errno = 0;
      EXPECT_EQ(semget(key, 0, 0), -1) << "semaphore set of key " << key << " left behind";
      EXPECT_EQ(errno, ENOENT);
    }
  }
  // Builds a waiter on slot i, or fails the test (the caller ASSERTs it is non-null).
  std::unique_ptr<Waiter> make(size_t i, bool creator) {
    auto r = info_->make(area_.slot(i), creator, test_config());
    if (!r.ok()) {
      ADD_FAILURE() << (creator ? "create: " : "open: ") << r.error().message();
      return nullptr;
    }
    if (creator && std::string(GetParam()) == "sysv_sem")
      sem_keys_.push_back(sysv_sem_key(area_.slot(i)));
    return std::move(r).value();
  }
  bool have_cpus(const Plan& p) { return p.same_cpu || sys::allowed_cpus().size() >= 2; }
  int cpu(int side, const Plan& p) {
    auto cpus = sys::allowed_cpus();
    return cpus[p.same_cpu ? 0 : static_cast<size_t>(side)];
  }

  SharedArea area_;
  const WaiterInfo* info_ = nullptr;
  int fds_before_ = 0;
  std::vector<key_t> sem_keys_;
};

}  // namespace ipcb::waiter_test
