// The list of shared-memory waiters: adding one is its file pair plus one line here.
#include "backends/sync/futex.h"
#include "backends/sync/posix_sem.h"
#include "backends/sync/spin.h"
#include "backends/sync/waiter.h"

namespace ipcb {

const std::vector<WaiterInfo>& waiters() {
  static const std::vector<WaiterInfo> kAll = {
      {"spin", "busy-poll with a CPU pause; never sleeps", make_spin_waiter},
      {"futex", "announce, then FUTEX_WAIT on a shared word", make_futex_waiter},
      {"posix_sem", "announce, then sem_clockwait on a pshared semaphore", make_posix_sem_waiter},
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
