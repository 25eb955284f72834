// adaptive: spins (CPU pause) on the condition for up to config.spin_ns (the user's --spin-us),
// then falls back to the futex protocol (futex.h) on the same slot: a fast hand-off costs no
// syscall, a slow one costs no CPU. The notifier is the futex notifier: it bumps the word and
// wakes only when the waiter announced that it went to sleep.
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_adaptive_waiter(std::byte* slot, bool creator,
                                                     const ChannelConfig& config);
}
