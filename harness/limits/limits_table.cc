// The table `ipcbench limits` prints (see limits.h): configured values by mechanism, then each
// probed value with how it compares and what bounds it.
#include <algorithm>
#include <cstdio>
#include <iterator>

#include "harness/limits/limits.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb::limits {
namespace {

constexpr uint64_t kUnlimited = UINT64_MAX;

// 4194304 -> "4M", 25276502016 -> "23.5G"; "~" when rounding hides the difference.
std::string human(uint64_t v) {
  static const char* kUnits = "KMGTPE";
  if (v < 1024) return std::to_string(v);
  int u = 0;
  while (u < 5 && (v >> (10 * (u + 2))) != 0) ++u;
  const uint64_t unit = 1ull << (10 * (u + 1));
  char buf[32];
  if (v % unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu%c", static_cast<unsigned long long>(v / unit), kUnits[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(v) / static_cast<double>(unit));
    std::string t = buf;
    if (t.size() > 2 && t.compare(t.size() - 2, 2, ".0") == 0)
      t = std::string("~").append(t, 0, t.size() - 2);
    return t + kUnits[u];
  }
  return buf;
}

// The table's order: the kernel's settings by mechanism, then the process's, then the machine's.
int rank(const std::string& key) {
  static const char* const kOrder[] = {
      "kernel.shm", "kernel.msg",      "kernel.sem",     "fs.mqueue",     "fs.pipe",  "vm.",
      "net.",       "RLIMIT_MSGQUEUE", "RLIMIT_MEMLOCK", "RLIMIT_NOFILE", "/dev/shm", "PIPE_BUF",
      "page_size",  "hugepages",       "memory",         "in_use"};
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    if (key.rfind(kOrder[i], 0) == 0) return static_cast<int>(i);
  }
  return static_cast<int>(std::size(kOrder));
}

bool is_bytes(const std::string& key) {
  static const char* const kBytes[] = {"kernel.shmmax",
                                       "kernel.msgmax",
                                       "kernel.msgmnb",
                                       "fs.mqueue.msgsize_max",
                                       "fs.mqueue.msgsize_default",
                                       "fs.pipe-max-size",
                                       "net.core.wmem_max",
                                       "RLIMIT_MSGQUEUE",
                                       "RLIMIT_MEMLOCK"};
  for (const char* k : kBytes) {
    if (key.rfind(k, 0) == 0) return true;
  }
  return key.find("bytes") != std::string::npos;
}

}  // namespace

std::string format_table(const Limits& l) {
  const Configured& c = l.configured;
  const Privilege& p = c.privilege;
  std::string out;
  char line[512];
  std::string who = "uid " + std::to_string(p.euid) + (p.euid == 0 ? " (root)" : "");
  for (auto [on, name] :
       {std::pair{p.cap_sys_resource, "CAP_SYS_RESOURCE"},
        std::pair{p.cap_ipc_owner, "CAP_IPC_OWNER"}, std::pair{p.cap_ipc_lock, "CAP_IPC_LOCK"}}) {
    if (on) who += std::string(" ") + name;
  }
  out += "Configured (this process: " + who + (p.privileged() ? ", privileged" : ", unprivileged") +
         "):\n";
  std::vector<std::pair<std::string, uint64_t>> rows(c.values.begin(), c.values.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  for (const auto& [key, v] : rows) {
    std::string value = std::to_string(v);
    if (key.rfind("RLIMIT_", 0) == 0 && v == kUnlimited) {
      value = "unlimited";
    } else if (is_bytes(key) && v >= 1024) {
      value += " (" + human(v) + ")";
    } else if (key == "kernel.shmall") {
      value += " pages";
    }
    std::snprintf(line, sizeof line, "  %-34s %s\n", key.c_str(), value.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "  %-34s %s\n", "/dev/mqueue:mounted",
                c.mqueue_mounted ? "yes" : "no (mq_open works; ls /dev/mqueue does not)");
  out += line;
  for (const auto& e : c.errors) out += "  (unreadable) " + e + "\n";
  if (!l.options.probe) return out;
  std::snprintf(line, sizeof line,
                "\nProbed (%.2f s; at most %s of memory at once; every object removed):\n",
                l.probe_seconds, human(l.options.max_probe_bytes).c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-34s %-22s %-7s %s\n", "key", "value", "vs cfg",
                "what bounds it");
  out += line;
  for (const auto& pr : l.probes) {
    const probe::Found& f = pr.found;
    std::string value = !f.value ? "-" : f.capped ? ">= " : "";
    if (f.value) value += std::to_string(*f.value);
    if (f.value && *f.value >= 1024 && pr.key.find("bytes") != std::string::npos) {
      value += " (" + human(*f.value) + ")";
    }
    std::string state = !f.error.empty() ? "error" : pr.agrees ? "agrees" : "differs";
    std::string bound = f.capped ? "capped: " + f.cap
                        : f.err  ? f.call + " " + sys::errno_name(f.err) + " above: " +
                                      (pr.limit_detail.empty() ? pr.limit : pr.limit_detail)
                                : f.error;
    std::snprintf(line, sizeof line, "  %-34s %-22s %-7s %s\n", pr.key.c_str(), value.c_str(),
                  state.c_str(), bound.c_str());
    out += line;
    if (!pr.why.empty()) out += "      " + pr.why + "\n";
  }
  return out;
}

}  // namespace ipcb::limits
