// memfd: an anonymous memory file (memfd_create(2)) as the segment of a shared-memory channel.
// It has no name at all: the peer inherits the descriptor ("fd:N"), checks it really is a memfd
// of the right size with its size sealed, and maps it. Nothing can leak: the memory goes when
// the last mapping and descriptor do.
#pragma once
#include "backends/segment.h"

namespace ipcb {
SegmentKind memfd_segments();
// memfd pages live in the kernel's internal tmpfs (shmem); see memfd.cc for the estimate.
std::string memfd_size_limit(size_t message_bytes, size_t channels = 1, bool deep = false);
}  // namespace ipcb
