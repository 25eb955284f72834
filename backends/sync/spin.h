// spin: busy-polls the condition with a CPU pause; never sleeps. Lowest latency, burns a CPU.
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_spin_waiter(std::byte* slot, bool creator,
                                                 const ChannelConfig&);
}
