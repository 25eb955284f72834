// posix_shm segments (see posix_shm.h).
#include "backends/posix_shm.h"

#include "backends/fd_segment.h"

namespace ipcb {
namespace {

Result<std::unique_ptr<Segment>> create(size_t bytes) {
  std::string name = sys::owned_name("/ipcbench-");
  IPCB_TRY(int record, manifest::record(manifest::Kind::kPosixShm, name));
  auto fd = sys::shm_create_excl(name);
  if (!fd) {
    manifest::release(record);
    return fd.error();
  }
  return FdSegment::finish_create(name, manifest::Kind::kPosixShm, std::move(*fd), bytes, record);
}

Result<std::unique_ptr<Segment>> open(const std::string& object, size_t bytes) {
  IPCB_TRY(sys::Fd fd, sys::shm_open_existing(object));
  return FdSegment::finish_open(object, manifest::Kind::kPosixShm, std::move(fd), bytes);
}

}  // namespace

std::string posix_shm_size_limit(size_t message_bytes, size_t channels, bool deep) {
  return free_space_limit("/dev/shm", message_bytes, channels, deep);
}

SegmentKind posix_shm_segments() {
  return {create, open};
}

}  // namespace ipcb
