// `ipcbench history` (see cli_history.h): finds ipcreport and runs its `history` command.
#include "harness/cli_history.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "harness/cli_common.h"
#include "harness/sys.h"

namespace ipcb {

std::string ipcreport_path() {
  if (const char* p = std::getenv("IPCBENCH_IPCREPORT"); p && *p) return p;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string bin(exe, static_cast<size_t>(n));
    bin.erase(bin.rfind('/'));
    std::string installed = bin + "/ipcreport";
    if (::access(installed.c_str(), X_OK) == 0) return installed;
  }
  return IPCBENCH_SOURCE_IPCREPORT;
}

int cmd_history(const std::vector<std::string>& args) {
  const std::string tool = ipcreport_path();
  if (::access(tool.c_str(), X_OK) != 0) {
    return usage_error("history: cannot run " + tool +
                       " (the results history is kept by ipcreport; set IPCBENCH_IPCREPORT to "
                       "its path)");
  }
  std::vector<std::string> argv = {tool, "history"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::fflush(stdout);
  std::fflush(stderr);
  auto pid = sys::fork_exec(tool, argv, STDOUT_FILENO, STDERR_FILENO, {});
  if (!pid) return usage_error("history: " + pid.error().message());
  auto status = sys::wait_child(*pid);
  if (!status) return usage_error("history: " + status.error().message());
  return *status;
}

}  // namespace ipcb
