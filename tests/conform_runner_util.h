// Helpers of the conformance runner's end-to-end tests: `ipcbench conform` started with a
// set-up step in its own process first (a private namespace, a read-only /dev/shm, a sysctl),
// its JSON, and the wait for a killed run's test processes to be gone.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/process_util.h"

namespace ipcb::test {

// `ipcbench ARGS` started with a set-up step (start_ipcbench's `prepare`), waited for (killed
// after timeout_s).
Outcome run_prepared(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const std::function<bool()>& prepare, double timeout_s = 120);

// DIR/conformance.json, or an empty object.
nlohmann::json read_json(const std::string& path);
// results[] by test name.
std::map<std::string, nlohmann::json> results_by_test(const nlohmann::json& doc);

// Whether a process of process group `pgid` still runs (zombies do not count).
bool group_alive(pid_t pgid);
// Waits up to timeout_s for the groups to be gone; false if one is still there.
bool wait_groups_gone(const std::vector<pid_t>& pgids, double timeout_s);
// The process groups of `pid`'s children (the runner's test processes lead their own).
std::vector<pid_t> child_groups(pid_t pid);

// The IPC sysctls the conformance tests may change, with their values now.
std::map<std::string, std::string> ipc_sysctls();
// Writes a /proc/sys value ("kernel.msgmni"); false on failure.
bool write_sysctl(const std::string& name, const std::string& value);

}  // namespace ipcb::test
