// eventfd: one eventfd per slot (eventfd(2)). The creator makes it (EFD_NONBLOCK|EFD_CLOEXEC)
// and writes its number into the slot; the runner's spawn keeps it open across exec at the same
// number (inherited_fds). The other side reads the number (untrusted) and uses it only if it
// really is an eventfd of its own process. wait = announce, re-check, ppoll(POLLIN) for a slice,
// then read to reset the count; notify = write 1 when someone announced. A count left by a
// notify that found the waiter awake makes the next wait return early: harmless, it re-checks.
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_eventfd_waiter(std::byte* slot, bool creator,
                                                    const ChannelConfig&);
}
