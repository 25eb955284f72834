// Test helpers: run the ipcbench binary with a deadline, and snapshot the IPC objects that
// exist on the machine so a test can prove a run left nothing behind.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

namespace ipcb::test {

struct Outcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
  double seconds = 0;
};

// Runs IPCBENCH_BIN with args and extra environment ("K=V"); kills it after timeout_s.
Outcome run_ipcbench(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     double timeout_s);

// Starts IPCBENCH_BIN in the background (output to files under `dir`); returns its pid.
pid_t start_ipcbench(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const std::string& dir);
// Waits up to timeout_s for pid; returns the wait status, or -1 on timeout (then kills it).
int wait_with_deadline(pid_t pid, double timeout_s, double* seconds);
std::vector<pid_t> children_of(pid_t pid);
std::string read_file(const std::string& path);

// Every SysV segment key, /dev/shm entry named ipcbench-*, and every entry of `extra_dirs`.
std::set<std::string> ipc_snapshot(const std::vector<std::string>& extra_dirs);

std::string make_temp_dir(const std::string& tag);

}  // namespace ipcb::test
