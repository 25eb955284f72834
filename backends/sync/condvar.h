// condvar: a process-shared, robust pthread mutex and a process-shared condition variable on
// CLOCK_MONOTONIC, both living in the slot (pthread_mutexattr_setrobust(3)). The condition is
// published outside the mutex, so a plain "check, then wait" could miss a wake-up; the slot
// follows the announce protocol instead: the waiter announces, re-checks, then re-checks once
// more *under the mutex* and waits; the notifier, when someone announced, takes and drops the
// mutex before it broadcasts, so the waiter is either not yet past its locked re-check (and sees
// the progress) or already inside the wait (and gets the broadcast). A peer that died holding
// the mutex leaves it EOWNERDEAD; the next locker marks it consistent.
//
// Traps (glibc's condvar is not robust): a waiter that dies inside pthread_cond_timedwait stays
// counted, so pthread_cond_destroy would wait for it forever (the creator skips the destroy
// while a waiter is announced) and a later broadcast waits for it once a *new* waiter arrives
// (a slot never gets a second peer, so this does not arise). A peer killed in the few
// instructions a broadcast holds the condvar's internal lock could still block the other side.
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {
Result<std::unique_ptr<Waiter>> make_condvar_waiter(std::byte* slot, bool creator,
                                                    const ChannelConfig&);
}
