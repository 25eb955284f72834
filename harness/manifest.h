// The cleanup manifest: every IPC object a run creates is recorded here *before* it is created
// and released after it is removed, so nothing leaks on normal exit, on error, on SIGINT/SIGTERM
// (the handler removes what is recorded) or after SIGKILL (`ipcbench clean` removes objects of
// owners that are gone). This is the program's only global mutable state.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "harness/error.h"

namespace ipcb::manifest {

// The kinds of kernel object the manifest knows how to remove.
enum class Kind { kSysvShm, kPosixShm, kFile, kSysvMsg, kSysvSem, kPosixMq };
const char* kind_name(Kind k);

// Where records live: $IPCBENCH_MANIFEST_DIR, else $XDG_RUNTIME_DIR/ipcbench, else
// /tmp/ipcbench-<uid>. Created mode 0700; refused if owned by someone else.
Result<std::string> directory();

// Records an object this process is about to create. `name` is the shm or queue name, the file
// path, or the SysV key in decimal. Returns a handle for release(). When $IPCBENCH_JOURNAL names
// a file, a line "KIND NAME" is also appended to it (best effort; never removed): an audit of
// every object a run created, which tests use to prove that none of them is left.
Result<int> record(Kind kind, const std::string& name);
// Forgets an object after its owner removed it. Idempotent; -1 is ignored.
void release(int handle);
// Registers a child process (a peer) for the signal handler to SIGKILL; forget_peer_pid undoes
// it once the child is reaped. Up to kMaxPeers at a time.
inline constexpr int kMaxPeers = 32;
void add_peer_pid(pid_t pid);
void forget_peer_pid(pid_t pid);

// Installs SIGINT/SIGTERM/SIGHUP/SIGQUIT handlers that kill the peer, remove every recorded
// object and its record, then die of the same signal. SIGPIPE is ignored.
void install_signal_handlers();

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
// Removes the objects (and records) of owners that are gone. With dry_run, only lists them.
// Returns what was (or would be) removed.
Result<std::vector<Leftover>> clean(bool dry_run);

}  // namespace ipcb::manifest
