// posix_shm: a POSIX shared memory object (shm_open + ftruncate + mmap, shm_overview(7)).
#pragma once
#include "backends/segment.h"

namespace ipcb {
SegmentKind posix_shm_segments();
// The segment for messages of `message_bytes` against the free space of /dev/shm.
std::string posix_shm_size_limit(size_t message_bytes, size_t channels = 1, bool deep = false);
}  // namespace ipcb
