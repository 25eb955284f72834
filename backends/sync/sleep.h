// sleep: the polling-flag approach. Checks the condition, nanosleeps config.sleep_ns (the user's
// --sleep-us), checks again. notify() does nothing, so latency is at least one nap (plus the
// kernel's timer slack, ~50 µs by default): the baseline the blocking waiters are measured
// against.
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_sleep_waiter(std::byte* slot, bool creator,
                                                  const ChannelConfig& config);
}
