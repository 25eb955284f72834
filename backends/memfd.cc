// memfd segments (see memfd.h).
#include "backends/memfd.h"

#include "backends/fd_segment.h"
#include "backends/kernel_channel.h"
#include "backends/shm_channel.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

class MemfdSegment final : public Segment {
 public:
  MemfdSegment(sys::Fd fd, sys::Mapping map)
      : object_(fd_object({fd.get()})), fd_(std::move(fd)), map_(std::move(map)) {}
  std::span<std::byte> bytes() override { return {map_.data(), map_.size()}; }
  std::string object() const override { return object_; }
  // The descriptor is the only name: once the peer has mapped the memory, close our copy.
  Status remove_name() override {
    fd_.reset();
    return ok_status();
  }
  std::vector<int> inherited_fds() const override {
    if (!fd_.valid()) return {};
    return {fd_.get()};
  }

 private:
  std::string object_;
  sys::Fd fd_;
  sys::Mapping map_;
};

Result<std::unique_ptr<Segment>> create(size_t bytes) {
  IPCB_TRY(sys::Fd fd, sys::memfd_create_sealable("ipcbench"));
  IPCB_TRY_STATUS(sys::ftruncate_fd(fd.get(), static_cast<off_t>(bytes), "memfd"));
  IPCB_TRY_STATUS(sys::allocate_file(fd.get(), static_cast<off_t>(bytes), "memfd"));
  IPCB_TRY_STATUS(sys::seal_size(fd.get(), "memfd"));
  IPCB_TRY(sys::Mapping map, sys::map_shared(fd.get(), bytes, "memfd"));
  IPCB_TRY_STATUS(sys::prefault({map.data(), map.size()}, "memfd"));
  return std::unique_ptr<Segment>(new MemfdSegment(std::move(fd), std::move(map)));
}

Result<std::unique_ptr<Segment>> open(const std::string& object, size_t bytes) {
  IPCB_TRY(auto fds, parse_fd_object(object, 1, "memfd"));
  sys::Fd fd(fds[0]);
  // Not whatever happens to have that number: a memfd ("/memfd:NAME (deleted)")...
  IPCB_TRY(std::string link, sys::fd_link(fd.get()));
  if (link.rfind("/memfd:", 0) != 0) {
    return plain_error("memfd " + object, "the descriptor is '" + link + "', not a memfd");
  }
  // ...whose size nobody can shrink under our mapping (that would be SIGBUS, not an error).
  IPCB_TRY(bool sealed, sys::size_sealed(fd.get(), object));
  if (!sealed) return plain_error("memfd " + object, "its size is not sealed (F_SEAL_SHRINK)");
  // Maps it (after checking its size), then closes our descriptor: the mapping is enough.
  return FdSegment::finish_open(object, manifest::Kind::kFile, std::move(fd), bytes);
}

}  // namespace

std::string memfd_size_limit(size_t message_bytes, size_t channels, bool deep) {
  // A memfd is charged to the kernel's internal shmem mount, which has no size of its own;
  // the free space of /dev/shm (the same memory, tmpfs) is the estimate of what is there.
  return free_space_limit("/dev/shm", message_bytes, channels, deep,
                          " (the estimate for memfd memory)");
}

SegmentKind memfd_segments() {
  return {create, open};
}

}  // namespace ipcb
