// `ipcbench conform`: runs the conformance suite, each test in its own forked process with a
// deadline, and reports one of four verdicts per test (PASS, FAIL, SKIP with its reason, BROKEN:
// the environment broke the set-up), a mechanism x behaviour table, conformance.json (results,
// environment, checklist coverage) and optionally JUnit XML. Exit status: 0 when something ran
// and nothing FAILed or BROKE, 1 on FAIL or BROKEN (or an unknown checklist row), 2 on bad input.
#pragma once

#include <string>
#include <vector>

#include "harness/sys/error.h"

namespace ipcb {

struct ConformArgs {
  std::string out = ".";                 // folder for conformance.json
  double test_timeout_s = 10;            // per-test watchdog
  bool checklist = false;                // also print the checklist coverage per mechanism
  std::string from;                      // read this conformance.json instead of running
  std::vector<std::string> gtest_flags;  // --gtest_* flags, validated here
};
int run_conformance(const ConformArgs& args);

// One test's result.
struct ConformOutcome {
  std::string test;          // GoogleTest's full name, e.g. "SysvShm.NewSegmentIsZeroFilled"
  std::string mechanism;     // "sysv_shm"
  std::string behaviour;     // "NewSegmentIsZeroFilled"
  std::string man, rows;     // CONFORM_MAN, CONFORM_ROWS
  std::string verdict;       // PASS, FAIL, SKIP or BROKEN
  std::string reason;        // why it did not PASS (first failure, skip reason, what broke)
  std::string precondition;  // the broken environment precondition (id) behind BROKEN
  std::vector<std::string> failures;  // every failure, "file:line: whole message"
  double seconds = 0;
};

struct ConformRunOptions {
  double test_timeout_s = 10;
  bool fail_fast = false;  // stop after the first FAIL or BROKEN
};
// Runs the conformance tests matching `filter` (GoogleTest's syntax, "Suite.*:-Suite.Slow"), each
// in its own forked process group with the deadline, and returns their outcomes in order; the
// caller's process is never at risk from a test (a crash or hang is that test's FAIL). An error
// when the filter matches nothing. For `ipcbench run`'s preflight. A SIGINT, SIGTERM, SIGHUP or
// SIGQUIT that arrives meanwhile ends the running test (its objects removed) and is then raised
// again in the caller.
Result<std::vector<ConformOutcome>> run_conformance_tests(const std::string& filter,
                                                          const ConformRunOptions& options = {});

}  // namespace ipcb
