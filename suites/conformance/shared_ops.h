// The ops table of the behaviours several mechanisms share (shared.cc): how each mechanism is
// created, opened, removed, filled and checked. One row per mechanism, built in shared_ops.cc.
#pragma once

#include <sys/types.h>

#include <ostream>
#include <string>
#include <vector>

namespace ipcb::conform {

// The identity of one object under test; each mechanism uses the part it needs.
struct Id {
  std::string name;  // POSIX objects: "/ipcb-conf-..."
  key_t key;         // SysV objects
  std::string path;  // FIFOs and mapped files, in the test's private directory
};

// How the shared behaviours drive one mechanism. Every operation returns 0 or an errno;
// check() returns ENODATA when the object exists but the token is missing.
struct Ops {
  const char* name;                       // the mechanism's name in reports (snake_case)
  const char* create_man;                 // page promising create, open and their errors
  const char* remove_man;                 // page of the removal call
  const char* persist_man;                // page stating the persistence
  int (*create)(const Id&, mode_t mode);  // exclusive create
  int (*open)(const Id&);                 // open (read-write where it applies) and close again
  int (*remove)(const Id&);               // remove the name / identifier
  int (*put)(const Id&);                  // leave kToken in the object
  int (*check)(const Id&);                // 0 if kToken is there
  // Optional: a non-blocking take from the empty object, and the errno it must give.
  int (*try_empty)(const Id&) = nullptr;
  int would_block = 0;
  const char* wait_man = nullptr;
  // Optional: a take from the empty object timed out after `ms`, and the errno it must give.
  int (*timed_empty)(const Id&, int ms) = nullptr;
  int timed_out = 0;
  // The checklist rows (checklist.tsv) each shared behaviour checks fully for this mechanism,
  // space-separated, "" for none: only rows whose every applicable case the test checks.
  struct Rows {
    const char* exclusive_create = "";
    const char* open_without_create = "";
    const char* persistence = "";
    const char* would_block = "";
    const char* timed_wait = "";
    const char* permissions = "";
    const char* removal = "";
  } rows{};
};

// Prints a row as its mechanism's name, so test names (and ctest's, which show the parameter)
// are the same in every build instead of showing a pointer.
void PrintTo(const Ops* ops, std::ostream* os);

// Every mechanism's row: sysv_shm, sysv_msg, sysv_sem, posix_shm, posix_mq, posix_sem, fifo,
// mmap_file.
const std::vector<const Ops*>& all_ops();

}  // namespace ipcb::conform
