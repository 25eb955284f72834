// The list of backends: adding a mechanism is its file pair plus one entry here.
#include "backends/backend.h"
#include "backends/mmap_file.h"
#include "backends/pipe.h"
#include "backends/posix_shm.h"
#include "backends/shm_channel.h"
#include "backends/sysv_shm.h"

namespace ipcb {
namespace {

// Adapts a SegmentKind to the backend's create/open pair.
template <SegmentKind (*Kind)()>
Result<std::unique_ptr<OwnedChannel>> create_shm(const ChannelConfig& c) {
  return create_shm_channel(Kind(), c);
}
template <SegmentKind (*Kind)()>
Result<std::unique_ptr<Channel>> open_shm(const ChannelConfig& c, const std::string& object) {
  return open_shm_channel(Kind(), c, object);
}

}  // namespace

const std::vector<BackendInfo>& backends() {
  static const std::vector<BackendInfo> kAll = {
      {"sysv_shm", "shm", "System V segment (shmget/shmat), opened by key", shm_syncs,
       create_shm<sysv_shm_segments>, open_shm<sysv_shm_segments>, no_size_limit},
      {"posix_shm", "shm", "POSIX shared memory (shm_open + mmap), opened by name", shm_syncs,
       create_shm<posix_shm_segments>, open_shm<posix_shm_segments>, no_size_limit},
      {"mmap_file", "shm", "a file mapped MAP_SHARED, opened by path", shm_syncs,
       create_shm<mmap_file_segments>, open_shm<mmap_file_segments>, no_size_limit},
      {"pipe", "kernel", "two anonymous pipes, descriptors inherited by the peer", kernel_syncs,
       create_pipe_channel, open_pipe_channel, no_size_limit},
  };
  return kAll;
}

const BackendInfo* find_backend(const std::string& name) {
  for (const auto& b : backends()) {
    if (name == b.name) return &b;
  }
  return nullptr;
}

bool sync_valid_for(const BackendInfo& b, const std::string& sync) {
  for (const auto& s : b.syncs()) {
    if (s == sync) return true;
  }
  return false;
}

}  // namespace ipcb
