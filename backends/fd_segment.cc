// FdSegment (see fd_segment.h).
#include "backends/fd_segment.h"

#include "backends/shm_channel.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {

Status check_segment_size(const std::string& object, size_t actual, size_t wanted) {
  if (actual < wanted) {
    return plain_error(
        "open segment " + object,
        "it has " + std::to_string(actual) + " bytes, the channel needs " + std::to_string(wanted));
  }
  return ok_status();
}

std::string free_space_limit(const std::string& dir, size_t message_bytes, size_t channels,
                             bool deep, const std::string& extra) {
  ChannelConfig c;
  c.message_bytes = message_bytes;
  c.deep = deep;
  const uint64_t one = shm_channel_bytes(c);
  const uint64_t bytes = one * std::max<size_t>(channels, 1);
  auto free = sys::fs_free_bytes(dir);
  if (!free || bytes <= *free) return {};
  std::string what = channels > 1
                         ? "segments of " + std::to_string(channels) + " x " + std::to_string(one) +
                               " = " + std::to_string(bytes) + " bytes exceed"
                         : "segment of " + std::to_string(bytes) + " bytes exceeds";
  return what + " the free space of " + dir + " = " + std::to_string(*free) + " bytes" + extra;
}

Status FdSegment::remove_name() {
  if (record_ < 0) return ok_status();
  IPCB_TRY_STATUS(manifest::remove_object(kind_, name_));
  manifest::release(record_);
  record_ = -1;
  return ok_status();
}

Result<std::unique_ptr<Segment>> FdSegment::finish_create(std::string name, manifest::Kind kind,
                                                          sys::Fd fd, size_t bytes, int record) {
  auto undo = [&](Error e) -> Result<std::unique_ptr<Segment>> {
    (void)manifest::remove_object(kind, name);
    manifest::release(record);
    return e;
  };
  auto sized = sys::ftruncate_fd(fd.get(), static_cast<off_t>(bytes), name);
  if (!sized) return undo(sized.error());
  // Reserve every page now (ENOSPC here, not a SIGBUS when a page is first touched).
  auto reserved = sys::allocate_file(fd.get(), static_cast<off_t>(bytes), name);
  if (!reserved) return undo(reserved.error());
  auto map = sys::map_shared(fd.get(), bytes, name);
  if (!map) return undo(map.error());
  auto faulted = sys::prefault({map->data(), map->size()}, name);
  if (!faulted) return undo(faulted.error());
  return std::unique_ptr<Segment>(new FdSegment(std::move(name), kind, std::move(*map), record));
}

Result<std::unique_ptr<Segment>> FdSegment::finish_open(std::string name, manifest::Kind kind,
                                                        sys::Fd fd, size_t bytes) {
  IPCB_TRY(off_t size, sys::file_size(fd.get(), name));
  IPCB_TRY_STATUS(check_segment_size(name, static_cast<size_t>(size), bytes));
  IPCB_TRY(sys::Mapping map, sys::map_shared(fd.get(), bytes, name));
  std::unique_ptr<Segment> seg(new FdSegment(std::move(name), kind, std::move(map), -1));
  IPCB_TRY_STATUS(sys::prefault(seg->bytes(), seg->object()));
  return seg;
}

}  // namespace ipcb
