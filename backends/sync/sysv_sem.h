// sysv_sem: a SysV semaphore set of one semaphore per slot (svipc(7)). The creator draws a
// random key, records it in the manifest, creates the set (IPC_EXCL, 0600) and writes the key
// into the slot; the other side reads the key (untrusted), opens the set and checks it is ours
// (owner and creator = our uid, mode 0600, one semaphore). wait = announce, re-check,
// semtimedop(-1) for a slice; notify = semop(+1) when someone announced. IPC_RMID destroys the
// set at once (sleepers get EIDRM), so only the creator's destructor removes it.
#pragma once
#include <sys/types.h>

#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_sysv_sem_waiter(std::byte* slot, bool creator,
                                                     const ChannelConfig&);
// The key a creator wrote into `slot` (for tests and diagnostics; untrusted like any slot data).
key_t sysv_sem_key(const std::byte* slot);
}  // namespace ipcb
