// posix_shm: a POSIX shared memory object (shm_open + ftruncate + mmap, shm_overview(7)).
#pragma once
#include "backends/segment.h"

namespace ipcb {
SegmentKind posix_shm_segments();
}
