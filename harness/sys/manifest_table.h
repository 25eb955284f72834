// The manifest's in-memory state, shared by its records (manifest.cc) and its signal handlers
// (manifest_signals.cc). Plain fixed arrays: a signal handler walks them without allocating or
// locking. Internal to the manifest; nothing else includes this.
#pragma once

#include <sys/types.h>

#include <atomic>

#include "harness/sys/manifest.h"

namespace ipcb::manifest {

// Objects one process may hold at once: a fanin of kMaxPeers with the sysv_sem waiter holds a
// segment and four semaphore sets per peer, plus the probes' objects.
inline constexpr int kMaxEntries = 512;
inline constexpr size_t kMaxText = 256;

struct Entry {
  std::atomic<bool> in_use{false};
  Kind kind = Kind::kFile;
  long key = 0;                // SysV key, for the SysV kinds
  unsigned seq = 0;            // the record's sequence number (restores run newest first)
  char name[kMaxText] = {};    // object name or path
  char value[kMaxText] = {};   // kSysctl: the value to write back
  char record[kMaxText] = {};  // the record file to unlink
};

extern Entry g_entries[kMaxEntries];
extern std::atomic<pid_t> g_peers[kMaxPeers];
extern std::atomic<unsigned> g_seq;
// The owner file of this process (see manifest.h) and the pid that made it, for the handlers.
extern char g_owner_lock[kMaxText];
extern std::atomic<pid_t> g_owner_pid;

// Async-signal-safe removal of one object (only syscalls, no allocation), errors ignored.
// kDir removes the files and empty folders directly inside the directory, then the directory;
// kSysctl is not handled here (see restore_raw).
void remove_raw(Kind kind, long key, const char* name);
// Async-signal-safe: writes `value` to the /proc/sys file `path`; false on failure.
bool restore_raw(const char* path, const char* value);
// The same for the kinds without a wrapper of their own, reporting what failed (not "already
// gone", which succeeds).
Status remove_raw_checked(Kind kind, long key, const char* name);
// Async-signal-safe: SIGKILLs every registered peer, then removes every recorded object and
// its record file, and restores every recorded sysctl (newest record first).
void kill_peers_and_remove_all();
// Whether `kind` is one of the three SysV kinds, whose name is a key (kSysvKey included).
bool keyed(Kind kind);
// Reads a record file: false unless it names a kind we know and an object of ours.
bool parse_record(const std::string& path, Leftover& l);

}  // namespace ipcb::manifest
