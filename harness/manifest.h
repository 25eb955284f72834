// The cleanup manifest: every IPC object a run creates is recorded here *before* it is created
// and released after it is removed, so nothing leaks on normal exit, on error, on any signal we
// can catch (the handler removes what is recorded) or after SIGKILL (`ipcbench clean` removes
// objects of owners that are gone). This is the program's only global mutable state: the
// records, the peers to kill, and the shared mappings whose faults are not ours (see below).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/error.h"

namespace ipcb::manifest {

// The kinds of kernel object the manifest knows how to remove.
enum class Kind { kSysvShm, kPosixShm, kFile, kSysvMsg, kSysvSem, kPosixMq };
const char* kind_name(Kind k);

// Where records live: $IPCBENCH_MANIFEST_DIR, else $XDG_RUNTIME_DIR/ipcbench, else for root
// /run/ipcbench, else /tmp/ipcbench-<uid>. Created mode 0700 and owned by us. A folder in /tmp
// that another user made first is moved aside when we are root, else refused (name another
// with IPCBENCH_MANIFEST_DIR).
Result<std::string> directory();

// Records an object this process is about to create. `name` is the shm or queue name, the file
// path, or the SysV key in decimal. Returns a handle for release(). When $IPCBENCH_JOURNAL names
// a file, a line "KIND NAME" is also appended to it (best effort; never removed): an audit of
// every object a run created, which tests use to prove that none of them is left.
//
// Liveness: the first record of a process creates an owner file PID-tTOKEN.lock and holds an
// flock on it for the life of the process; the kernel drops the lock when the process dies, so
// `clean` judges an owner exactly, also from another PID namespace.
Result<int> record(Kind kind, const std::string& name);
// Forgets an object after its owner removed it. Idempotent; -1 is ignored.
void release(int handle);
// Registers a child process (a peer) for the cleanup to SIGKILL; forget_peer_pid undoes it once
// the child is reaped. Up to kMaxPeers at a time.
inline constexpr int kMaxPeers = 32;
void add_peer_pid(pid_t pid);
void forget_peer_pid(pid_t pid);

// Installs handlers for every signal whose default action ends the process: the terminating
// ones (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2, SIGALRM, SIGXCPU, real-time signals, ...)
// kill the peers, remove every recorded object and its record, then die of the same signal;
// the crash signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS) do the same and
// then hand over to the handler that was there before (a sanitizer's) or the default. Uncaught
// C++ exceptions print their message first. SIGPIPE is ignored.
void install_signal_handlers();

// Shared mappings another process can take pages away from (by truncating the object or
// filling its filesystem). A SIGBUS or SIGSEGV inside one is not a bug of ours: the handler
// maps a private zero page over the faulting page, so the access completes, and counts the
// fault; the run then fails cleanly (the watchdog sees guarded_faults() change). With
// set_guarded_fault_exit (the peer), the handler instead prints `exit_message` and exits 3.
void guard_mapping(const void* start, size_t len);
void unguard_mapping(const void* start);
uint64_t guarded_faults();
void set_guarded_fault_exit(bool exit_at_once);

// Last resort when something this process cannot interrupt is stuck (a primitive blocked on
// state a hostile peer broke): prints "ipcbench: WHY" on stderr, kills the peers, removes every
// recorded object and exits with status 1. Never returns.
[[noreturn]] void emergency_exit(const std::string& why);

// Removes one object by kind and name (used by clean, by tests and by the signal path).
// Succeeds when the object is already gone.
Status remove_object(Kind kind, const std::string& name);

struct Leftover {
  std::string record_path;
  Kind kind;
  std::string name;
  pid_t owner;
  bool owner_alive;
};
// Lists every record in the directory, noting whether its owner process still runs.
Result<std::vector<Leftover>> scan();

struct CleanReport {
  std::vector<Leftover> removed;                   // objects (and records) of owners that are gone
  std::vector<std::pair<Leftover, Error>> failed;  // could not be removed; their records stay
  // Record files of owners that are gone naming no object ipcbench makes: the record file is
  // removed (not dry_run), what it names is left alone.
  std::vector<std::string> unreadable;
};
// Removes the objects (and records) of owners that are gone, going on past a failure. With
// dry_run, only lists them.
Result<CleanReport> clean(bool dry_run);

}  // namespace ipcb::manifest
