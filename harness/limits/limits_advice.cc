// What stands in a run's way (see limits.h): the sizes the probes show cannot really be carried,
// and for every limit a skip names, the command that raises it.
#include <algorithm>
#include <map>
#include <regex>

#include "backends/shm_channel.h"
#include "harness/limits/limits.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb::limits {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kHardMsgsizeMax = 16u << 20;  // HARD_MSGSIZEMAX (ipc/mqueue.c)

// Per backend, the probe that bounds what it carries, and whether that is the whole segment.
struct Need {
  const char* backend;
  const char* key;
  bool segment;  // shared memory: the probe bounds the channel's segment, not the message
};
const Need kNeeds[] = {
    {"sysv_shm", "probed.sysv_shm.max_segment_bytes", true},
    {"posix_shm", "probed.posix_shm.max_bytes", true},
    {"posix_mq", "probed.posix_mq.max_msgsize", false},
    {"sysv_msg", "probed.sysv_msg.max_message_bytes", false},
};

uint64_t round_up(uint64_t v, uint64_t unit) {
  return (v + unit - 1) / unit * unit;
}

std::optional<uint64_t> number(const std::string& text, const std::regex& re) {
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  return std::stoull(m[1].str());
}

std::string sysctl_w(const std::string& name, uint64_t v) {
  return "sysctl -w " + name + "=" + std::to_string(v);
}

// A shared-memory free-space limit: grow /dev/shm, or put mmap_file elsewhere.
std::optional<Advice> free_space(const std::string& reason, uint64_t need) {
  static const std::regex kDir(R"(free space of (\S+) = (\d+))");
  std::smatch m;
  if (!std::regex_search(reason, m, kDir)) return std::nullopt;
  std::string dir = m[1].str();
  uint64_t free = std::stoull(m[2].str());
  if (dir != "/dev/shm") {
    return Advice{"free space of " + dir, need,
                  "free " + std::to_string(need - std::min(need, free)) + " bytes on " + dir +
                      ", or set IPCBENCH_MMAP_DIR to a roomier filesystem"};
  }
  uint64_t size = 0;
  if (auto s = sys::fs_space("/dev/shm")) size = s->size_bytes;
  uint64_t grow = round_up(size + (need - std::min(need, free)), kMiB) / kMiB;
  return Advice{"/dev/shm size", need,
                "mount -o remount,size=" + std::to_string(grow) + "M /dev/shm"};
}

}  // namespace

std::string probed_size_limit(const Limits& l, const std::string& backend, size_t message_bytes) {
  for (const auto& n : kNeeds) {
    if (backend != n.backend) continue;
    const Probe* p = l.find(n.key);
    if (p == nullptr || !p->found.value || p->found.capped || !p->found.error.empty()) return {};
    ChannelConfig cc;
    cc.message_bytes = message_bytes;
    const uint64_t bytes = n.segment ? shm_channel_bytes(cc) : message_bytes;
    if (bytes <= *p->found.value) return {};
    std::string real = p->limit_detail.empty() ? "what " + p->found.call + " accepts (" +
                                                     sys::errno_name(p->found.err) + " above it)"
                                               : p->limit_detail;
    return std::string(n.segment ? "segment" : "message") + " of " + std::to_string(bytes) +
           " bytes exceeds " + real + " (" + n.key + " = " + std::to_string(*p->found.value) + ")";
  }
  return {};
}

namespace {

std::optional<Advice> advice_for_one(const std::string& reason) {
  static const std::regex kBytes(R"((\d+) bytes)");
  static const std::regex kOverhead(R"(\((\d+) with kernel overhead\))");
  const uint64_t need = number(reason, kBytes).value_or(0);
  auto has = [&](const std::string& s) { return reason.find(s) != std::string::npos; };
  if (has("RLIMIT_MSGQUEUE")) {
    uint64_t n = number(reason, kOverhead).value_or(need);
    return Advice{"RLIMIT_MSGQUEUE", n,
                  "ulimit -q " + std::to_string(n) +
                      " (in the shell that starts ipcbench; above the hard limit: msgqueue in "
                      "/etc/security/limits.conf)"};
  }
  if (has("exceeds kernel.shmmax")) {
    uint64_t v = round_up(need, kMiB);
    return Advice{"kernel.shmmax", v, sysctl_w("kernel.shmmax", v)};
  }
  if (has("exceeds kernel.shmall")) {
    const uint64_t page = sys::page_size();
    uint64_t pages = (need + page - 1) / page + sysv_shm_pages_in_use();
    return Advice{"kernel.shmall", pages, sysctl_w("kernel.shmall", pages)};
  }
  if (has("exceeds fs.mqueue.msgsize_max")) {
    if (need > kHardMsgsizeMax) {
      return Advice{"HARD_MSGSIZEMAX", need,
                    "none: 16777216 is the kernel's own maximum for a POSIX message"};
    }
    return Advice{"fs.mqueue.msgsize_max", need, sysctl_w("fs.mqueue.msgsize_max", need)};
  }
  for (const char* name : {"kernel.msgmax", "kernel.msgmnb"}) {
    if (has(std::string("exceeds ") + name)) return Advice{name, need, sysctl_w(name, need)};
  }
  if (has("net.core.wmem_max")) {
    uint64_t v = (need + 32 + 1) / 2;
    return Advice{"net.core.wmem_max", v, sysctl_w("net.core.wmem_max", v)};
  }
  if (has("free space of ")) return free_space(reason, need);
  if (has("memory accounting")) {
    return Advice{"memory accounting", need,
                  "sysctl -w vm.overcommit_memory=1, or add memory or swap"};
  }
  if (has("largest AF_UNIX record")) {
    return Advice{"the largest AF_UNIX record", need, "none: a kernel constant"};
  }
  return std::nullopt;
}

}  // namespace

std::vector<Advice> advice_for(const std::string& reason) {
  std::vector<Advice> out;
  for (size_t s = 0, e; s < reason.size(); s = e + 2) {
    e = reason.find("; ", s);
    if (e == std::string::npos) e = reason.size();
    if (auto a = advice_for_one(reason.substr(s, e - s))) out.push_back(*a);
  }
  return out;
}

std::vector<std::string> advice_lines(const std::vector<Skipped>& skipped) {
  struct Group {
    Advice advice;
    std::vector<std::pair<std::string, std::vector<std::string>>> where;  // backend, sizes
  };
  std::map<std::string, Group> groups;
  std::vector<std::string> order;
  for (const auto& sk : skipped) {
    // WORKLOAD/BACKEND/SYNC/SIZE[/...]
    std::vector<std::string> parts;
    for (size_t s = 0, e; s <= sk.name.size(); s = e + 1) {
      e = sk.name.find('/', s);
      if (e == std::string::npos) e = sk.name.size();
      parts.push_back(sk.name.substr(s, e - s));
    }
    if (parts.size() < 4) continue;
    const std::string size = size_label(std::stoull(parts[3]));
    for (const Advice& a : advice_for(sk.reason)) {
      auto [it, fresh] = groups.try_emplace(a.limit, Group{a, {}});
      if (fresh) order.push_back(a.limit);
      Group& g = it->second;
      if (a.need > g.advice.need) g.advice = a;
      auto b = std::find_if(g.where.begin(), g.where.end(),
                            [&](const auto& w) { return w.first == parts[1]; });
      if (b == g.where.end()) b = g.where.insert(g.where.end(), {parts[1], {}});
      if (std::find(b->second.begin(), b->second.end(), size) == b->second.end()) {
        b->second.push_back(size);
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& limit : order) {
    const Group& g = groups[limit];
    std::string line = limit + " skips";
    for (size_t i = 0; i < g.where.size(); ++i) {
      line += (i ? "; " : " ") + g.where[i].first;
      for (size_t k = 0; k < g.where[i].second.size(); ++k) {
        line += (k ? ", " : " ") + g.where[i].second[k];
      }
    }
    const std::string& cmd = g.advice.command;
    out.push_back(line + (cmd.rfind("none: ", 0) == 0 ? ". It cannot be raised: " + cmd.substr(6)
                                                      : ". To raise it: " + cmd));
  }
  return out;
}

}  // namespace ipcb::limits
