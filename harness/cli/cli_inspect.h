// The commands that look at the machine without benchmarking it: `list`, `limits`, `clean`.
#pragma once

#include <string>

#include "harness/cli/cli_common.h"

namespace ipcb {

int cmd_list();
int cmd_clean(bool dry_run);

struct LimitsArgs {
  bool json = false;
  ProbeArgs probe;
  std::string suite = "default";
};
int cmd_limits(const LimitsArgs& a);

}  // namespace ipcb
