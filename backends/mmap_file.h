// mmap_file: a regular file mapped MAP_SHARED (mmap(2)). The directory is $IPCBENCH_MMAP_DIR,
// else /dev/shm when it is a writable tmpfs, else $TMPDIR or /tmp.
#pragma once
#include "backends/segment.h"

namespace ipcb {
SegmentKind mmap_file_segments();
// The directory mmap_file creates its files in (see above).
std::string mmap_file_directory();
// The file for messages of `message_bytes` against the free space of its filesystem.
std::string mmap_file_size_limit(size_t message_bytes, size_t channels = 1, bool deep = false);
}  // namespace ipcb
