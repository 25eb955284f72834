// What kernel channels share (see kernel_channel.h).
#include "backends/kernel_channel.h"

#include <cstdlib>

#include "harness/sys/cpu_relax.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {

const std::atomic<bool> KernelWait::kNever{false};

std::string fd_object(const std::vector<int>& fds) {
  std::string s = "fd:";
  for (size_t i = 0; i < fds.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(fds[i]);
  }
  return s;
}

Result<std::vector<int>> parse_fd_object(const std::string& object, size_t count,
                                         const char* backend) {
  auto bad = [&] {
    return plain_error(backend, "bad descriptor list '" + object.substr(0, 64) + "' (expected fd:" +
                                    std::to_string(count) + " numbers above 2, comma-separated)");
  };
  if (object.rfind("fd:", 0) != 0) return bad();
  std::vector<int> fds;
  const char* p = object.c_str() + 3;
  for (;;) {
    if (*p < '0' || *p > '9') return bad();
    char* end = nullptr;
    long v = std::strtol(p, &end, 10);
    if (v <= 2 || v > 1 << 20) return bad();
    fds.push_back(static_cast<int>(v));
    if (*end == '\0') break;
    if (*end != ',') return bad();
    p = end + 1;
  }
  if (fds.size() != count) return bad();
  return fds;
}

std::vector<std::string> kernel_syncs() {
  return {"block", "poll", "busy"};
}

Result<KernelSync> parse_kernel_sync(const ChannelConfig& c, const std::vector<std::string>& valid,
                                     const char* backend) {
  bool listed = false;
  std::string names;
  for (const auto& v : valid) {
    listed = listed || v == c.sync;
    if (!names.empty()) names += ", ";
    names += v;
  }
  if (listed && c.sync == "block") return KernelSync::kBlock;
  if (listed && c.sync == "poll") return KernelSync::kPoll;
  if (listed && c.sync == "busy") return KernelSync::kBusy;
  return plain_error("sync", std::string(backend) + " does not support sync '" + c.sync +
                                 "' (valid: " + names + ")");
}

Status check_size_limit(const std::string& why, const char* backend) {
  if (!why.empty()) return plain_error(backend, why);
  return ok_status();
}

Status KernelWait::pause(int fd, short events) {
  switch (sync_) {
    case KernelSync::kBlock:
      return ok_status();
    case KernelSync::kPoll: {
      // Any revents (POLLHUP, POLLERR too) means: try again, the call reports what happened.
      IPCB_TRY(short revents, sys::poll_one(fd, events, kSliceMs));
      (void)revents;
      return ok_status();
    }
    case KernelSync::kBusy:
      cpu_relax();
      return ok_status();
  }
  return ok_status();
}

}  // namespace ipcb
