// mmap_file segments (see mmap_file.h).
#include "backends/mmap_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "backends/fd_segment.h"

namespace ipcb {
namespace {

Result<std::unique_ptr<Segment>> create(size_t bytes) {
  std::string path = sys::owned_name(mmap_file_directory() + "/ipcbench-") + ".mmap";
  IPCB_TRY(int record, manifest::record(manifest::Kind::kFile, path));
  auto fd = sys::open_file(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (!fd) {
    manifest::release(record);
    return fd.error();
  }
  return FdSegment::finish_create(path, manifest::Kind::kFile, std::move(*fd), bytes, record);
}

Result<std::unique_ptr<Segment>> open(const std::string& object, size_t bytes) {
  IPCB_TRY(sys::Fd fd, sys::open_file(object, O_RDWR | O_NOFOLLOW));
  return FdSegment::finish_open(object, manifest::Kind::kFile, std::move(fd), bytes);
}

}  // namespace

std::string mmap_file_directory() {
  if (const char* d = std::getenv("IPCBENCH_MMAP_DIR"); d && *d) return d;
  if (sys::path_accessible("/dev/shm", W_OK)) return "/dev/shm";
  if (const char* t = std::getenv("TMPDIR"); t && *t) return t;
  return "/tmp";
}

std::string mmap_file_size_limit(size_t message_bytes, size_t channels, bool deep) {
  return free_space_limit(mmap_file_directory(), message_bytes, channels, deep);
}

SegmentKind mmap_file_segments() {
  return {create, open};
}

}  // namespace ipcb
