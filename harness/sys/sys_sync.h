// Syscall wrappers for synchronisation primitives (SysV semaphores, eventfd, process-shared
// pthread objects), in the style of sys.h: retry on EINTR where safe, failures become Errors
// naming call, object, errno. Every wait takes an absolute CLOCK_MONOTONIC deadline and answers
// true (woken, or woken spuriously: the caller re-checks) or false (the deadline passed).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include "harness/sys/sys.h"

namespace ipcb::sys {

// --- scheduling -----------------------------------------------------------------------------
// sched_yield(2): gives the CPU to another runnable thread, if any. Never fails on Linux.
void yield_cpu();
// geteuid(2): who must own the objects a peer points us to.
uid_t effective_uid();
// getpid(2).
pid_t current_pid();

// --- SysV semaphore sets (svipc(7), semget(2), semop(2)) ------------------------------------
// A set of one semaphore, IPC_CREAT|IPC_EXCL|0600. EEXIST means the key is taken.
Result<int> semget_create_excl(key_t key);
// The set of an existing key (semget(key, 0, 0)); does not create.
Result<int> semget_existing(key_t key);
// What IPC_STAT reports that matters for trusting a set someone else created.
struct SemSetInfo {
  uid_t uid;       // owner
  uid_t cuid;      // creator
  mode_t mode;     // permission bits (sem_perm.mode & 0777)
  unsigned nsems;  // semaphores in the set
};
Result<SemSetInfo> sem_stat(int id);
// Decrements semaphore 0 of the set, waiting until the deadline (semtimedop(2) with a relative
// timeout). EINTR counts as a spurious wake-up (true). EIDRM: the set was removed (an error).
Result<bool> sem_down_until(int id, uint64_t deadline_ns);
// Increments semaphore 0 of the set (semop(2) +1). ERANGE when the count is at SEMVMX.
Status sem_up(int id);
// Removes the set (IPC_RMID). Succeeds when it is already gone.
Status sem_rmid(int id);

// --- eventfd (eventfd(2)) --------------------------------------------------------------------
// A new eventfd with count 0, EFD_NONBLOCK|EFD_CLOEXEC.
Result<Fd> eventfd_create();
// Whether `fd` is an open eventfd of this process (readlink /proc/self/fd/N).
bool is_eventfd(int fd);
// A new descriptor for the same open file (F_DUPFD_CLOEXEC).
Result<Fd> dup_cloexec(int fd);
// Adds 1 to the eventfd's count. A count at its maximum (EAGAIN) is already "signalled": ok.
Status eventfd_signal(int fd);
// Reads (resets) the count; an empty count (EAGAIN) is fine.
Status eventfd_drain(int fd);
// ppoll(2) for POLLIN until the deadline: true if readable, false on timeout.
Result<bool> poll_readable_until(int fd, uint64_t deadline_ns);

// --- process-shared pthread objects living in shared memory (pthread_mutexattr_setrobust(3)) ---
// A PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST mutex.
Status mutex_init_shared_robust(pthread_mutex_t* m);
// Locks; when the previous owner died holding it (EOWNERDEAD), marks it consistent and goes on:
// the data it guards here is only the condvar's, which every waiter re-checks anyway.
Status mutex_lock(pthread_mutex_t* m);
// Locks with an absolute CLOCK_MONOTONIC deadline (pthread_mutex_clocklock): false when it
// passed. EOWNERDEAD is handled as in mutex_lock; ENOTRECOVERABLE and EINVAL are errors.
Result<bool> mutex_lock_until(pthread_mutex_t* m, uint64_t deadline_ns);
// The type word glibc keeps in the mutex (robust, process-shared, ...), which decides how every
// lock call behaves: a mutex in shared memory whose word differs from robust_shared_mutex_kind()
// was written by someone else and must not be used (a PI or unknown type can block for ever).
int mutex_kind(const pthread_mutex_t* m);
int robust_shared_mutex_kind();
void mutex_unlock(pthread_mutex_t* m);
void mutex_destroy(pthread_mutex_t* m);
// A PTHREAD_PROCESS_SHARED condition variable timed on CLOCK_MONOTONIC.
Status cond_init_shared(pthread_cond_t* c);
// pthread_cond_timedwait with an absolute CLOCK_MONOTONIC deadline (the mutex is held on
// entry and on return, also on error). EOWNERDEAD is handled as in mutex_lock.
Result<bool> cond_wait_until(pthread_cond_t* c, pthread_mutex_t* m, uint64_t deadline_ns);
void cond_broadcast(pthread_cond_t* c);
// Trap: glibc's pthread_cond_destroy waits for every thread still inside a wait on it, also one
// of a process that died there. Call it only when no waiter can be inside.
void cond_destroy(pthread_cond_t* c);

}  // namespace ipcb::sys
