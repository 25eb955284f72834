// sysv_shm: a System V shared memory segment (shmget/shmat, shmget(2)), opened by key.
#pragma once
#include "backends/segment.h"

namespace ipcb {
SegmentKind sysv_shm_segments();
}
