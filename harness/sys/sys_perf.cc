// perf_event_open(2) wrappers (see sys_perf.h).
#include "harness/sys/sys_perf.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace ipcb::sys {

Result<Fd> perf_open_thread(const PerfEventSpec& spec, const std::string& what) {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = spec.type;
  attr.config = spec.config;
  attr.exclude_user = spec.exclude_user ? 1 : 0;
  attr.exclude_kernel = spec.exclude_kernel ? 1 : 0;
  attr.exclude_hv = 1;
  attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  // No glibc wrapper exists; the raw call is made here and nowhere else.
  long fd = retry_eintr(
      [&] { return ::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC); });
  if (fd < 0) return errno_error("perf_event_open", what);
  return Fd(static_cast<int>(fd));
}

Result<PerfRead> perf_read(int fd, const std::string& what) {
  uint64_t v[3] = {0, 0, 0};
  ssize_t n = retry_eintr([&] { return ::read(fd, v, sizeof v); });
  if (n < 0) return errno_error("read", "perf event " + what);
  if (n != static_cast<ssize_t>(sizeof v)) {
    return plain_error("read perf event " + what,
                       "got " + std::to_string(n) + " bytes, expected " + std::to_string(sizeof v));
  }
  return PerfRead{v[0], v[1], v[2]};
}

std::optional<int> perf_event_paranoid() {
  std::ifstream f("/proc/sys/kernel/perf_event_paranoid");
  int v = 0;
  if (!(f >> v)) return std::nullopt;
  return v;
}

}  // namespace ipcb::sys
