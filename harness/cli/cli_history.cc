// `ipcbench history` (see cli_history.h): finds ipcreport and runs its `history` command.
#include "harness/cli/cli_history.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "harness/cli/cli_common.h"
#include "harness/sys/sys.h"

namespace ipcb {

std::string ipcreport_path() {
  if (const char* p = std::getenv("IPCBENCH_IPCREPORT"); p && *p) return p;
  if (std::string bin = sys::self_exe_dir(); !bin.empty()) {
    std::string installed = bin + "/ipcreport";
    if (sys::path_accessible(installed, X_OK)) return installed;
  }
  return IPCBENCH_SOURCE_IPCREPORT;
}

int cmd_history(const std::vector<std::string>& args) {
  const std::string tool = ipcreport_path();
  if (!sys::path_accessible(tool, X_OK)) {
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
