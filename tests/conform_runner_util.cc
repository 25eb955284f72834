// Helpers of the conformance runner's end-to-end tests (see conform_runner_util.h).
#include "tests/conform_runner_util.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace ipcb::test {
namespace fs = std::filesystem;

Outcome run_prepared(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const std::function<bool()>& prepare, double timeout_s) {
  std::string dir = make_temp_dir("conform-run");
  return collect_run(start_ipcbench(args, env, dir, prepare), dir, timeout_s, "timed out\n");
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

std::map<std::string, nlohmann::json> results_by_test(const nlohmann::json& doc) {
  std::map<std::string, nlohmann::json> out;
  if (doc.contains("results")) {
    for (const auto& r : doc["results"]) out[r.value("test", "")] = r;
  }
  return out;
}

bool group_alive(pid_t pgid) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string stat = read_file(e.path().string() + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    pid_t ppid = 0, pgrp = 0;
    if (rest >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z') return true;
  }
  return false;
}

bool wait_groups_gone(const std::vector<pid_t>& pgids, double timeout_s) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (pid_t g : pgids) {
    while (group_alive(g)) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return true;
}

std::vector<pid_t> child_groups(pid_t pid) {
  std::vector<pid_t> out;
  for (pid_t c : children_of(pid)) {
    pid_t g = getpgid(c);
    if (g > 0) out.push_back(g);
  }
  return out;
}

std::map<std::string, std::string> ipc_sysctls() {
  static const char* kNames[] = {"kernel/shmmax",
                                 "kernel/shmall",
                                 "kernel/shmmni",
                                 "kernel/shm_rmid_forced",
                                 "kernel/msgmax",
                                 "kernel/msgmnb",
                                 "kernel/msgmni",
                                 "kernel/sem",
                                 "fs/mqueue/msg_max",
                                 "fs/mqueue/msgsize_max",
                                 "fs/mqueue/queues_max",
                                 "fs/mqueue/msg_default",
                                 "fs/mqueue/msgsize_default",
                                 "fs/pipe-max-size",
                                 "fs/pipe-user-pages-soft",
                                 "fs/pipe-user-pages-hard"};
  std::map<std::string, std::string> out;
  for (const char* n : kNames) out[n] = read_file(std::string("/proc/sys/") + n);
  return out;
}

bool write_sysctl(const std::string& name, const std::string& value) {
  std::string path = "/proc/sys/" + name;
  for (size_t i = 10; i < path.size(); ++i) path[i] = path[i] == '.' ? '/' : path[i];
  std::ofstream f(path);
  return static_cast<bool>(f << value << "\n") && static_cast<bool>(f.flush());
}

}  // namespace ipcb::test
