// The fixture of the end-to-end tests of `ipcbench run` (e2e_test.cc, e2e_peer_test.cc).
#pragma once

#include <string>
#include <vector>

#include "tests/process_util.h"

namespace ipcb::test {

// Every run gets its own manifest and mmap folders, so leftovers are exactly attributable.
class E2E : public RunFolders {
 protected:
  // `ipcbench run ARGS --out OUT`, killed after timeout_s.
  Outcome run(std::vector<std::string> args, double timeout_s) {
    args.insert(args.begin(), "run");
    args.insert(args.end(), {"--out", out_});
    return run_ipcbench(args, env_, timeout_s);
  }
};

}  // namespace ipcb::test
