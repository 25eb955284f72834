// yield: polls the condition and calls sched_yield(2) between checks. Never sleeps; on a CPU of
// its own it spins, on a shared CPU it lets the other side run (the same-CPU placement's answer
// to spinning).
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_yield_waiter(std::byte* slot, bool creator,
                                                  const ChannelConfig&);
}
