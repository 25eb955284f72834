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

#include "harness/sys/error.h"

namespace ipcb::manifest {

// The kinds of kernel object the manifest knows how to remove (or, for kSysctl, restore).
// The last four are the conformance tests' (suites/conformance/conform.h), whose names are made
// before it is known what they will name:
//   kPosixName  a "/ipcb-conf-HEX" name: removed as a POSIX shm object, queue and semaphore;
//   kSysvKey    a SysV key: the segment, queue and semaphore set under it are removed;
//   kDir        a private "ipcb-conf-XXXXXX" directory: removed with everything in it;
//   kSysctl     a /proc/sys file changed by a test; `extra` holds "NS VALUE": the value to
//               restore and the IPC namespace it was changed in ("ipc:[N]", or "-" for a
//               machine-wide sysctl). clean restores it only in the same IPC namespace.
enum class Kind {
  kSysvShm,
  kPosixShm,
  kFile,
  kSysvMsg,
  kSysvSem,
  kPosixMq,
  kPosixName,
  kSysvKey,
  kDir,
  kSysctl
};
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
// `extra` (kSysctl only, see Kind) is the rest of the record's line.
Result<int> record(Kind kind, const std::string& name, const std::string& extra = "");
// Forgets an object after its owner removed it. Idempotent; -1 is ignored.
void release(int handle);
// Registers a child process (a peer) for the cleanup to SIGKILL; forget_peer_pid undoes it once
// the child is reaped. Up to kMaxPeers at a time.
inline constexpr int kMaxPeers = 32;
void add_peer_pid(pid_t pid);
void forget_peer_pid(pid_t pid);

// Installs handlers for every signal whose default action ends the process: the terminating
// ones (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2, SIGALRM, SIGXCPU, real-time signals, ...)
// kill the peers, remove every recorded object and its record (restoring recorded sysctls,
// newest record first), then die of the same signal;
// the crash signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS) do the same and
// then hand over to the handler that was there before (a sanitizer's) or the default. Uncaught
// C++ exceptions print their message first. SIGPIPE is ignored.
void install_signal_handlers();
// In a forked child that is to clean up after itself (a conformance test's process): installs
// the handlers if needed and makes them act for this process; the parent's records and peers,
// copied by fork, are forgotten (never removed or killed from here). With `kill_group`, a
// terminating signal also SIGKILLs this process's whole process group once the cleanup is done
// (the child leads its own group, so its own children go with it).
void adopt_after_fork(bool kill_group);

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
// Succeeds when the object is already gone. Not for kSysctl (see undo).
Status remove_object(Kind kind, const std::string& name);

struct Leftover {
  std::string record_path;
  Kind kind;
  std::string name;
  std::string extra;  // kSysctl: "NS VALUE"
  pid_t owner;
  bool owner_alive;
  unsigned seq = 0;  // the record's sequence number within its owner (newest is highest)
};
// Undoes what a record stands for: removes its object, or for kSysctl writes the saved value
// back (when it was changed in this process's IPC namespace or is machine-wide; else sets
// *skipped to why and leaves the value alone). With dry_run, only decides.
Status undo(const Leftover& l, std::string* skipped, bool dry_run = false);
// Lists every record in the directory, noting whether its owner process still runs.
Result<std::vector<Leftover>> scan();

struct CleanReport {
  // Objects removed (sysctls restored) for owners that are gone; their records are removed.
  std::vector<Leftover> removed;
  // Records of gone owners whose sysctl was changed in another IPC namespace: the record is
  // removed, the value left alone (the namespace is gone with its processes), with the reason.
  std::vector<std::pair<Leftover, std::string>> dropped;
  std::vector<std::pair<Leftover, Error>> failed;  // could not be removed; their records stay
  // Record files of owners that are gone naming no object ipcbench makes: the record file is
  // removed (not dry_run), what it names is left alone.
  std::vector<std::string> unreadable;
};
// Removes the objects (and records) of owners that are gone, going on past a failure. With
// dry_run, only lists them.
Result<CleanReport> clean(bool dry_run);

}  // namespace ipcb::manifest
