// What the kernel allows this process: the configured limits (sysctls, rlimits, /dev/shm, ...)
// and the probed ones (found by creating real objects, see probe.h), each probe checked against
// what the configured values predict for this process, with the reason when they differ.
// `ipcbench limits` prints it; every bench.json carries it in context.limits. Backends skip
// sizes by the configured limits (so root and users measure the same); a run also skips sizes a
// probe shows cannot really be reached, naming the real limit.
#pragma once

#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/limits/probe.h"
#include "harness/plan/suite.h"

namespace ipcb::limits {

// Who we are to the kernel: root and these capabilities (CapEff) change what is allowed.
struct Privilege {
  uid_t uid = 0;
  uid_t euid = 0;
  bool cap_sys_resource = false;  // may exceed fs.mqueue.*_max, queues_max, pipe-max-size
  bool cap_ipc_owner = false;     // bypasses the permission checks of IPC objects
  bool cap_ipc_lock = false;      // may lock shared memory beyond RLIMIT_MEMLOCK
  bool privileged() const { return euid == 0 || cap_sys_resource || cap_ipc_owner; }
};

// Configured values by key: sysctl names ("kernel.shmmax"); "GROUP:field" for the parts of one
// item ("kernel.sem:semmsl", "RLIMIT_MSGQUEUE:soft", "/dev/shm:free_bytes"). UINT64_MAX in an
// rlimit means unlimited.
struct Configured {
  std::map<std::string, uint64_t> values;
  std::vector<std::string> errors;  // what could not be read, and why
  Privilege privilege;
  bool mqueue_mounted = false;  // /dev/mqueue is a mounted mqueue filesystem
  std::optional<uint64_t> get(const std::string& key) const;
};

// One probed value, checked against the configured ones.
struct Probe {
  std::string key;  // "probed.sysv_shm.max_segment_bytes"
  probe::Found found;
  std::string limit;                 // what bounds it: "kernel.shmmax", "RLIMIT_MSGQUEUE", ...
  std::string limit_detail;          // the same with its value: "kernel.shmmax = 4194304"
  std::optional<uint64_t> expected;  // what the configured values predict for this process
  bool agrees = true;                // value == expected (or, when capped, value <= expected)
  std::string why;                   // why they differ, or what else bounds it
};

struct Options {
  uint64_t max_probe_bytes = 256ull << 20;  // memory a probe may touch at once
  int max_objects = 48;                     // objects a counting probe holds (manifest: 64)
  double budget_s = 8;                      // all probes together
  bool probe = true;                        // false: configured values only
};

struct Limits {
  Configured configured;
  std::vector<Probe> probes;
  Options options;
  double probe_seconds = 0;
  const Probe* find(const std::string& key) const;
};

Configured read_configured();
// Configured values and every probe.
Limits collect(const Options& options);
// Fills limit, expected, agrees and why of `p` from the configured values (limits_check.cc).
void check(const Configured& c, Probe& p);

nlohmann::json to_json(const Limits& l);
std::string format_table(const Limits& l);

// Why `backend` cannot carry `message_bytes` by what the probes found (a probe that stopped at
// a cap says nothing), naming the real limit; "" if nothing probed stands in the way.
std::string probed_size_limit(const Limits& l, const std::string& backend, size_t message_bytes);

// The command that raises a limit a skip reason names.
struct Advice {
  std::string limit;    // "kernel.shmmax"
  uint64_t need = 0;    // the value the command sets
  std::string command;  // "sysctl -w kernel.shmmax=50331648"; "none: why" if it cannot be raised
};
// One per limit the reason names (a reason may name several, joined by "; ").
std::vector<Advice> advice_for(const std::string& reason);
// One line per limit that skips benchmarks: which backends and sizes, and how to raise it.
std::vector<std::string> advice_lines(const std::vector<Skipped>& skipped);

// Pages of SysV shared memory all segments hold now (what kernel.shmall counts).
uint64_t sysv_shm_pages_in_use();

}  // namespace ipcb::limits
