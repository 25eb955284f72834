// What most mmap(2) and msync(2) tests start from: a temporary file and one mapping of it; and
// the filesystem the file is on.
#pragma once

#include <sys/mman.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstddef>

#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {

// A TempFile of `size` bytes (fd, path, read_back) and `m`, a mapping of its first `len` bytes
// (shared and read-write unless given). The mapping goes first, then the file, when the scope
// ends. ok() is false if either failed; errno then says why the first of them failed.
struct MappedFile : TempFile {
  MappedFile(size_t size, size_t len, int prot = PROT_READ | PROT_WRITE, int flags = MAP_SHARED)
      : TempFile(size), file_errno_(errno), m(fd, len, prot, flags) {
    if (!TempFile::ok()) errno = file_errno_;  // not the EBADF of mapping no file
  }
  bool ok() const { return TempFile::ok() && m.ok(); }

 private:
  int file_errno_;

 public:
  Mapping m;
};

// The type of the filesystem holding `fd`'s file (statfs(2) f_type: TMPFS_MAGIC, ...), or -1 if
// fstatfs failed.
inline long fs_type(int fd) {
  struct statfs fs {};
  return ::fstatfs(fd, &fs) == 0 ? static_cast<long>(fs.f_type) : -1;
}

}  // namespace ipcb::conform
