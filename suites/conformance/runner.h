// `ipcbench conform`: runs the conformance suite in this process (GoogleTest flags pass
// through), prints a mechanism x behaviour table with PASS / FAIL / SKIP(reason), writes
// conformance.json, and returns non-zero on any FAIL.
#pragma once

#include <string>
#include <vector>

namespace ipcb {

// `args`: --out DIR (where conformance.json goes, default "."), --gtest_* flags.
int run_conformance(const std::vector<std::string>& args);

}  // namespace ipcb
