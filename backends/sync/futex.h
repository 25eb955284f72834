// futex: announce, re-check, then FUTEX_WAIT on a sequence word in the segment; the notifier
// bumps the word and calls FUTEX_WAKE only when a waiter announced itself (futex(2)).
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_futex_waiter(std::byte* slot, bool creator,
                                                  const ChannelConfig&);
}
