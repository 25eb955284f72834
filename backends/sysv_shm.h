// sysv_shm: a System V shared memory segment (shmget/shmat, shmget(2)), opened by key.
#pragma once
#include "backends/segment.h"

namespace ipcb {
SegmentKind sysv_shm_segments();
// The segment for messages of `message_bytes` against kernel.shmmax and kernel.shmall.
std::string sysv_shm_size_limit(size_t message_bytes, size_t channels = 1, bool deep = false);
}  // namespace ipcb
