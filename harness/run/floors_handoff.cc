// Blocking hand-off floors between two processes (see floors_handoff.h).
#include "harness/run/floors_handoff.h"

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <system_error>
#include <thread>
#include <vector>

#include "harness/sys/manifest.h"
#include "harness/sys/sys.h"

namespace ipcb {
namespace {

// How long either side waits for the other before it takes it for gone.
constexpr uint64_t kGiveUpNs = 2'000'000'000;
// The hand-offs of a new pair of processes are faster for their first tens of milliseconds than
// later: on a 2-vCPU AMD EPYC KVM guest, the median one-way pipe hand-off of eight new pairs,
// in 10 ms windows, went 32 34 36 36 36 40 42 38 35 34 42 38 us. A benchmark measures for
// 0.2 s after a short warm-up, in the later state, so the floor does too (kHandoffWarmUpNs): a
// floor taken from three new pairs of about 9 ms each read every blocking result 1.3-1.6x above
// it. What is timed after it lasts at least kHandoffMinMeasureNs: 10 ms windows of one ping-pong
// range over 28-45 us.

// `pass()` moves the turn to the child and waits for it to come back; the child runs `answer()`
// until it returns false. `child_setup` runs in the child first (closing its copies of the
// parent's descriptors); `stop` tells the child to finish. Returns the round trips' median and
// fastest tenth, halved.
Handoff between_processes(int cpu_a, int cpu_b, uint64_t budget_ns,
                          const std::function<bool()>& pass, const std::function<bool()>& answer,
                          const std::function<void()>& child_setup,
                          const std::function<void()>& parent_setup,
                          const std::function<void()>& stop) {
  auto child = sys::fork_call([&] {
    if (cpu_b >= 0) (void)sys::pin_to_cpu(0, cpu_b);
    child_setup();
    while (answer()) {
    }
    return 0;
  });
  if (!child) return {};
  manifest::add_peer_pid(*child);
  parent_setup();
  std::vector<uint64_t> rtt;
  rtt.reserve(100'000);
  auto a = [&] {
    if (cpu_a >= 0) (void)sys::pin_to_cpu(0, cpu_a);
    // Not timed: the start of a new pair of processes, faster than the rest (see above).
    const uint64_t w0 = sys::now_ns();
    while (sys::now_ns() - w0 < kHandoffWarmUpNs) {
      if (!pass()) return;
    }
    const uint64_t t0 = sys::now_ns();
    while ((sys::now_ns() - t0 < budget_ns || rtt.size() < 8) && rtt.size() < 100'000) {
      const uint64_t s = sys::now_ns();
      if (!pass()) break;
      rtt.push_back(sys::now_ns() - s);
    }
  };
  try {
    std::thread(a).join();
  } catch (const std::system_error&) {
    rtt.clear();
  }
  stop();
  (void)sys::wait_child(*child);
  manifest::forget_peer_pid(*child);
  if (rtt.empty()) return {};
  std::sort(rtt.begin(), rtt.end());
  return {static_cast<double>(rtt[rtt.size() / 2]) / 2,
          static_cast<double>(rtt[rtt.size() / 10]) / 2};
}

Handoff futex_once(int cpu_a, int cpu_b, uint64_t budget_ns) {
  // One shared futex word: 1 the child's turn, 2 the parent's, 3 stop.
  auto page = sys::map_anonymous_shared(4096, "the futex floor's word");
  if (!page) return {};
  auto* w = new (page->data()) std::atomic<uint32_t>(2);
  // The value once it is no longer `seen`, or 0 if the other side seems gone.
  auto wait_while = [w](uint32_t seen) -> uint32_t {
    const uint64_t give_up = sys::now_ns() + kGiveUpNs;
    uint32_t v;
    while ((v = w->load(std::memory_order_acquire)) == seen) {
      if (sys::now_ns() > give_up) return 0;
      (void)sys::futex_wait_until(w, seen, sys::now_ns() + 100'000'000);
    }
    return v;
  };
  auto set = [w](uint32_t v) {
    w->store(v, std::memory_order_release);
    sys::futex_wake_all(w);
  };
  return between_processes(
      cpu_a, cpu_b, budget_ns,
      [&] {
        set(1);
        return wait_while(1) == 2;
      },
      [&] {
        if (wait_while(2) != 1) return false;
        set(2);
        return true;
      },
      [] {}, [] {}, [&] { set(3); });
}

Handoff pipe_once(int cpu_a, int cpu_b, uint64_t budget_ns) {
  auto there = sys::make_pipe(O_CLOEXEC);  // parent -> child
  auto back = sys::make_pipe(O_CLOEXEC);   // child -> parent
  if (!there || !back) return {};
  auto put = [](int fd, char c) {
    std::byte b{static_cast<unsigned char>(c)};
    return sys::write_full(fd, std::span(&b, 1), "floor pipe").ok();
  };
  auto get = [](int fd, char* c) {
    std::byte b{};
    bool ok = sys::read_full(fd, std::span(&b, 1), "floor pipe").ok();
    *c = static_cast<char>(b);
    return ok;
  };
  // Each side closes the other's ends, so a side that is gone is seen as end of file.
  return between_processes(
      cpu_a, cpu_b, budget_ns,
      [&] {
        char c = 0;
        return put(there->second.get(), 'p') && get(back->first.get(), &c);
      },
      [&] {
        char c = 0;
        if (!get(there->first.get(), &c) || c == 'q') return false;
        return put(back->second.get(), 'p');
      },
      [&] {
        there->second.reset();
        back->first.reset();
      },
      [&] {
        there->first.reset();
        back->second.reset();
      },
      [&] { put(there->second.get(), 'q'); });
}

}  // namespace

Handoff futex_handoff_floor(int cpu_a, int cpu_b, uint64_t budget_ns) {
  return futex_once(cpu_a, cpu_b, std::max(budget_ns, kHandoffMinMeasureNs));
}

Handoff pipe_handoff_floor(int cpu_a, int cpu_b, uint64_t budget_ns) {
  return pipe_once(cpu_a, cpu_b, std::max(budget_ns, kHandoffMinMeasureNs));
}

}  // namespace ipcb
