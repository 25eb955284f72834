// perf_event_open(2), wrapped once: counting (never sampling) events of the calling thread, the
// way the harness reads its own and the peer's cost per message. See harness/run/perf_counters.h
// for which events are counted and what a failure means.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "harness/sys/sys.h"

namespace ipcb::sys {

struct PerfEventSpec {
  uint32_t type = 0;    // PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE
  uint64_t config = 0;  // PERF_COUNT_HW_*, PERF_COUNT_SW_*
  bool exclude_user = false;
  bool exclude_kernel = false;
};

// perf_event_open(attr, pid 0, cpu -1, no group, FD_CLOEXEC): counts `spec` for the calling
// thread on whatever CPU it runs, from now on (enabled at once), not inherited by threads or
// children it starts later, hypervisor excluded, read with the time it was enabled and running.
// The Error keeps errno (ENOENT: no PMU for the event, EACCES: perf_event_paranoid, ENOSYS).
Result<Fd> perf_open_thread(const PerfEventSpec& spec, const std::string& what);

struct PerfRead {
  uint64_t value = 0;
  uint64_t enabled_ns = 0;  // time the event was enabled
  uint64_t running_ns = 0;  // ...and really on a counter (less when the PMU multiplexes)
};
Result<PerfRead> perf_read(int fd, const std::string& what);

// /proc/sys/kernel/perf_event_paranoid, or nullopt when it cannot be read.
std::optional<int> perf_event_paranoid();

}  // namespace ipcb::sys
