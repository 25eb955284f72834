// posix_sem: an unnamed process-shared semaphore (sem_init pshared=1) inside the segment; the
// waiter announces itself and sleeps in sem_clockwait, the notifier posts only when announced
// (sem_overview(7)). A post that finds the waiter already awake leaves a count behind, which the
// next wait consumes as a spurious wake-up: harmless, because every wake re-checks.
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_posix_sem_waiter(std::byte* slot, bool creator,
                                                      const ChannelConfig&);
}
