// `ipcbench history`: the results history (runs in one SQLite file, keyed by comparability key,
// commit and time) is kept by scripts/ipcreport's Python (sqlite3); ipcbench runs it.
#pragma once

#include <string>
#include <vector>

namespace ipcb {

// The ipcreport to run: $IPCBENCH_IPCREPORT, else `ipcreport` beside this binary (installed),
// else the source tree's scripts/ipcreport (a build).
std::string ipcreport_path();
// Runs `ipcreport history ARGS...` with this process's standard output and error; returns its
// exit status (128 + the signal that ended it), or 2 when it cannot be started.
int cmd_history(const std::vector<std::string>& args);

}  // namespace ipcb
