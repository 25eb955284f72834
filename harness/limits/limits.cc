// Limits (see limits.h): reading the configured values, running the probes within their caps,
// and writing both as JSON (the table is in limits_table.cc).
#include "harness/limits/limits.h"

#include <limits.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "harness/sys/sys_kernel.h"

namespace ipcb::limits {
namespace {

constexpr uint64_t kUnlimited = UINT64_MAX;

const char* const kSysctls[] = {"kernel.shmmax",
                                "kernel.shmall",
                                "kernel.shmmni",
                                "kernel.msgmax",
                                "kernel.msgmnb",
                                "kernel.msgmni",
                                "fs.mqueue.msg_max",
                                "fs.mqueue.msgsize_max",
                                "fs.mqueue.queues_max",
                                "fs.mqueue.msg_default",
                                "fs.mqueue.msgsize_default",
                                "fs.pipe-max-size",
                                "fs.pipe-user-pages-soft",
                                "vm.overcommit_memory",
                                "net.core.wmem_max"};
const char* const kSemFields[] = {"semmsl", "semmns", "semopm", "semmni"};

struct Rl {
  int resource;
  const char* name;
};
const Rl kRlimits[] = {{RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
                       {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"},
                       {RLIMIT_NOFILE, "RLIMIT_NOFILE"}};

std::string text_or_empty(const std::string& path) {
  auto t = sys::read_text_file(path);
  return t ? *t : std::string();
}

// "Key:   123 kB" lines of /proc/meminfo and /proc/self/status.
std::optional<std::string> field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      auto v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return std::nullopt;
}

void read_privilege(Configured& c) {
  c.privilege.uid = sys::real_uid();
  c.privilege.euid = sys::euid();
  auto caps = field(text_or_empty("/proc/self/status"), "CapEff");
  if (!caps) {
    c.errors.push_back("CapEff: /proc/self/status has none");
    return;
  }
  uint64_t eff = std::strtoull(caps->c_str(), nullptr, 16);
  auto has = [&](int bit) { return (eff >> bit) & 1; };
  c.privilege.cap_ipc_lock = has(14);
  c.privilege.cap_ipc_owner = has(15);
  c.privilege.cap_sys_resource = has(24);
}

void read_memory(Configured& c) {
  std::string meminfo = text_or_empty("/proc/meminfo");
  auto kb = [&](const char* key) -> std::optional<uint64_t> {
    auto v = field(meminfo, key);
    if (!v) return std::nullopt;
    uint64_t n = std::strtoull(v->c_str(), nullptr, 10);
    return v->find("kB") != std::string::npos ? n * 1024 : n;
  };
  if (auto v = kb("MemAvailable")) c.values["memory:available_bytes"] = *v;
  if (auto t = kb("MemTotal"), s = kb("SwapTotal"); t && s) {
    c.values["memory:ram_swap_bytes"] = *t + *s;
  }
  if (auto v = kb("Hugepagesize")) c.values["hugepages:size_bytes"] = *v;
  if (auto v = kb("HugePages_Total")) c.values["hugepages:total"] = *v;
  if (auto v = kb("HugePages_Free")) c.values["hugepages:free"] = *v;
  // The memory cgroup's room (tmpfs pages are charged to it): v2, else v1.
  std::istringstream cg(text_or_empty("/proc/self/cgroup"));
  std::string line, limit, usage;
  while (std::getline(cg, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrl = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (ctrl.empty() && limit.empty()) {
      limit = text_or_empty("/sys/fs/cgroup" + path + "/memory.max");
      usage = text_or_empty("/sys/fs/cgroup" + path + "/memory.current");
    } else if (ctrl == "memory") {
      // Inside a container the cgroup's own folder is often the mount's root.
      for (std::string dir :
           {"/sys/fs/cgroup/memory" + path, std::string("/sys/fs/cgroup/memory")}) {
        limit = text_or_empty(dir + "/memory.limit_in_bytes");
        usage = text_or_empty(dir + "/memory.usage_in_bytes");
        if (!limit.empty()) break;
      }
    }
  }
  uint64_t lim = std::strtoull(limit.c_str(), nullptr, 10);
  uint64_t use = std::strtoull(usage.c_str(), nullptr, 10);
  if (!limit.empty() && limit.rfind("max", 0) != 0 && lim > 0 && lim < (1ull << 62)) {
    c.values["memory:cgroup_free_bytes"] = lim > use ? lim - use : 0;
  }
}

// Rows of a /proc/sysvipc table, each a vector of its numbers.
std::vector<std::vector<uint64_t>> sysvipc_rows(const char* kind) {
  std::istringstream in(text_or_empty(std::string("/proc/sysvipc/") + kind));
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<uint64_t>> rows;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::vector<uint64_t> row;
    long long v;
    while (f >> v) row.push_back(static_cast<uint64_t>(v));
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

void read_in_use(Configured& c) {
  auto shm = sysvipc_rows("shm");
  c.values["in_use:sysv_shm_segments"] = shm.size();
  c.values["in_use:sysv_shm_pages"] = sysv_shm_pages_in_use();
  c.values["in_use:sysv_msg_queues"] = sysvipc_rows("msg").size();
  auto sem = sysvipc_rows("sem");
  uint64_t sems = 0;
  for (const auto& r : sem) sems += r.size() > 3 ? r[3] : 0;  // key semid perms nsems ...
  c.values["in_use:sysv_sem_sets"] = sem.size();
  c.values["in_use:sysv_sems"] = sems;
  std::istringstream mounts(text_or_empty("/proc/self/mounts"));
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (dir == "/dev/mqueue" && type == "mqueue") c.mqueue_mounted = true;
  }
  if (c.mqueue_mounted) {
    if (auto names = sys::list_directory("/dev/mqueue")) {
      c.values["in_use:posix_mq_queues"] = names->size();
    }
  }
}

// What the posix_shm probe may allocate without ever filling memory or /dev/shm.
std::pair<uint64_t, std::string> posix_shm_ceiling(const Configured& c, const Options& o) {
  std::pair<uint64_t, std::string> best{o.max_probe_bytes,
                                        "--max-probe-bytes = " + std::to_string(o.max_probe_bytes)};
  auto lower = [&](std::optional<uint64_t> v, uint64_t num, uint64_t den, const char* what) {
    if (v && *v / den * num < best.first) best = {*v / den * num, what};
  };
  lower(c.get("/dev/shm:free_bytes"), 3, 4, "3/4 of the free space of /dev/shm (never filled)");
  lower(c.get("memory:available_bytes"), 1, 4, "1/4 of MemAvailable");
  lower(c.get("memory:cgroup_free_bytes"), 1, 4, "1/4 of the memory cgroup's room");
  return best;
}

// shmget touches no memory, but with vm.overcommit_memory = 2 it commits what it accepts.
std::pair<uint64_t, std::string> sysv_shm_ceiling(const Configured& c, const Options& o) {
  if (c.get("vm.overcommit_memory") == 2u) {
    return {o.max_probe_bytes, "--max-probe-bytes (vm.overcommit_memory = 2 commits a segment)"};
  }
  return {1ull << 46, "64T, the search's ceiling (shmget touches no memory)"};
}

probe::Budget budget(const Options& o) {
  return {o.max_probe_bytes, o.max_objects,
          sys::now_ns() + static_cast<uint64_t>(o.budget_s * 1e9)};
}

void add(Limits& l, const std::string& key, probe::Found f) {
  Probe p;
  p.key = key;
  p.found = std::move(f);
  check(l.configured, p);
  l.probes.push_back(std::move(p));
}

}  // namespace

std::optional<uint64_t> Configured::get(const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

const Probe* Limits::find(const std::string& key) const {
  for (const auto& p : probes) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

uint64_t sysv_shm_pages_in_use() {
  const uint64_t page = sys::page_size();
  uint64_t pages = 0;
  for (const auto& r : sysvipc_rows("shm")) pages += r.size() > 3 ? (r[3] + page - 1) / page : 0;
  return pages;
}

Configured read_configured() {
  Configured c;
  for (const char* name : kSysctls) {
    auto v = sys::read_sysctl(name);
    if (v) {
      c.values[name] = *v;
    } else {
      c.errors.push_back(v.error().message());
    }
  }
  if (auto sem = sys::read_sysctl_fields("kernel.sem"); sem && sem->size() == 4) {
    for (size_t i = 0; i < 4; ++i) c.values[std::string("kernel.sem:") + kSemFields[i]] = (*sem)[i];
  } else {
    c.errors.push_back("kernel.sem: cannot read four numbers");
  }
  for (const auto& r : kRlimits) {
    if (auto v = sys::get_rlimit(r.resource, r.name)) {
      c.values[std::string(r.name) + ":soft"] = v->soft;
      c.values[std::string(r.name) + ":hard"] = v->hard;
    } else {
      c.errors.push_back(v.error().message());
    }
  }
  if (auto s = sys::fs_space("/dev/shm")) {
    c.values["/dev/shm:size_bytes"] = s->size_bytes;
    c.values["/dev/shm:free_bytes"] = s->free_bytes;
  } else {
    c.errors.push_back(s.error().message());
  }
  c.values["PIPE_BUF"] = PIPE_BUF;
  c.values["page_size"] = sys::page_size();
  read_memory(c);
  read_in_use(c);
  read_privilege(c);
  return c;
}

Limits collect(const Options& o) {
  Limits l;
  l.options = o;
  l.configured = read_configured();
  if (!o.probe) return l;
  const Configured& c = l.configured;
  const uint64_t t0 = sys::now_ns();
  const probe::Budget b = budget(o);
  auto [shm_top, shm_why] = sysv_shm_ceiling(c, o);
  add(l, "probed.sysv_shm.max_segment_bytes",
      probe::sysv_shm_max_segment_bytes(shm_top, shm_why, b));
  add(l, "probed.sysv_shm.max_segments", probe::sysv_shm_max_segments(b));
  add(l, "probed.posix_mq.max_msgsize",
      probe::posix_mq_max_msgsize(1ull << 30, "1G, the search's ceiling", b));
  add(l, "probed.posix_mq.max_maxmsg",
      probe::posix_mq_max_maxmsg(1ull << 20, "1048576, the search's ceiling", b));
  add(l, "probed.posix_mq.max_queues", probe::posix_mq_max_queues(b));
  const uint64_t msg_top = std::min<uint64_t>(o.max_probe_bytes, INT_MAX);
  const std::string msg_why = "--max-probe-bytes = " + std::to_string(o.max_probe_bytes);
  add(l, "probed.sysv_msg.max_message_bytes",
      probe::sysv_msg_max_message_bytes(msg_top, msg_why, b));
  if (auto m = l.probes.back().found.value; m && *m > 0) {
    add(l, "probed.sysv_msg.queue_bytes", probe::sysv_msg_queue_bytes(*m, msg_top, msg_why, b));
  }
  // F_SETPIPE_SZ allocates only the slot array, about 1/64 of the size.
  add(l, "probed.pipe.max_size",
      probe::pipe_max_size(std::min<uint64_t>(1ull << 31, o.max_probe_bytes * 64),
                           "2G, the kernel's largest pipe (or --max-probe-bytes x 64)", b));
  add(l, "probed.pipe.capacity", probe::pipe_capacity(o.max_probe_bytes, b));
  // A semaphore takes a cache line (64 bytes) of kernel memory.
  add(l, "probed.sysv_sem.max_nsems",
      probe::sysv_sem_max_nsems(std::min<uint64_t>(INT_MAX, o.max_probe_bytes / 64),
                                "--max-probe-bytes / 64 bytes per semaphore", b));
  auto [posix_top, posix_why] = posix_shm_ceiling(c, o);
  add(l, "probed.posix_shm.max_bytes", probe::posix_shm_max_bytes(posix_top, posix_why, b));
  l.probe_seconds = static_cast<double>(sys::now_ns() - t0) / 1e9;
  return l;
}

nlohmann::json to_json(const Limits& l) {
  nlohmann::json j = nlohmann::json::object();
  const Configured& c = l.configured;
  for (const auto& [key, v] : c.values) {
    auto colon = key.find(':');
    nlohmann::json value = v;
    if (key.rfind("RLIMIT_", 0) == 0 && v == kUnlimited) value = "unlimited";
    if (colon == std::string::npos) {
      j[key] = value;
    } else {
      j[key.substr(0, colon)][key.substr(colon + 1)] = value;
    }
  }
  j["/dev/mqueue"] = {{"mounted", c.mqueue_mounted}};
  const Privilege& p = c.privilege;
  j["privilege"] = {{"uid", p.uid},
                    {"euid", p.euid},
                    {"root", p.euid == 0},
                    {"CAP_SYS_RESOURCE", p.cap_sys_resource},
                    {"CAP_IPC_OWNER", p.cap_ipc_owner},
                    {"CAP_IPC_LOCK", p.cap_ipc_lock},
                    {"privileged", p.privileged()}};
  if (!c.errors.empty()) j["errors"] = c.errors;
  nlohmann::json details = nlohmann::json::object();
  for (const auto& pr : l.probes) {
    const probe::Found& f = pr.found;
    j[pr.key] = f.value ? nlohmann::json(*f.value) : nlohmann::json(nullptr);
    nlohmann::json d = {{"value", j[pr.key]},
                        {"capped", f.capped},
                        {"agrees", pr.agrees},
                        {"limit", pr.limit},
                        {"seconds", f.seconds}};
    if (f.capped) d["cap"] = f.cap;
    if (f.err != 0) d["bound"] = f.call + ": " + sys::errno_name(f.err);
    if (!pr.limit_detail.empty()) d["limit_detail"] = pr.limit_detail;
    if (pr.expected) d["expected"] = *pr.expected;
    if (!pr.why.empty()) d["why"] = pr.why;
    if (!f.error.empty()) d["error"] = f.error;
    details[pr.key] = d;
  }
  j["probes"] = details;
  j["probe"] = {{"ran", l.options.probe},
                {"seconds", l.probe_seconds},
                {"max_probe_bytes", l.options.max_probe_bytes},
                {"max_objects", l.options.max_objects},
                {"budget_s", l.options.budget_s}};
  return j;
}

}  // namespace ipcb::limits
