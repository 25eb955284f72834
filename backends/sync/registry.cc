// The list of shared-memory waiters: adding one is its file pair plus one line here.
#include "backends/sync/adaptive.h"
#include "backends/sync/condvar.h"
#include "backends/sync/eventfd.h"
#include "backends/sync/futex.h"
#include "backends/sync/posix_sem.h"
#include "backends/sync/sleep.h"
#include "backends/sync/spin.h"
#include "backends/sync/sysv_sem.h"
#include "backends/sync/waiter.h"
#include "backends/sync/yield.h"

namespace ipcb {

const std::vector<WaiterInfo>& waiters() {
  static const std::vector<WaiterInfo> kAll = {
      {"spin", "busy-poll with a CPU pause; never sleeps", make_spin_waiter},
      {"yield", "poll with sched_yield between checks; never sleeps", make_yield_waiter},
      {"sleep", "poll a flag, nanosleep --sleep-us between checks", make_sleep_waiter},
      {"futex", "announce, then FUTEX_WAIT on a shared word", make_futex_waiter},
      {"adaptive", "spin up to --spin-us, then the futex protocol", make_adaptive_waiter},
      {"posix_sem", "announce, then sem_clockwait on a pshared semaphore", make_posix_sem_waiter},
      {"sysv_sem", "announce, then semtimedop on a SysV semaphore set", make_sysv_sem_waiter},
      {"condvar", "robust pshared mutex + condvar, timed wait on CLOCK_MONOTONIC",
       make_condvar_waiter},
      {"eventfd", "announce, then poll an inherited eventfd", make_eventfd_waiter},
  };
  return kAll;
}

const WaiterInfo* find_waiter(const std::string& name) {
  for (const auto& w : waiters()) {
    if (name == w.name) return &w;
  }
  return nullptr;
}

}  // namespace ipcb
