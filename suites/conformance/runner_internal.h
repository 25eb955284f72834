// The conformance runner's parts (runner.h is its interface): flag checking and test selection
// (runner_select.cc), one forked process per test (runner_exec.cc), the environment and its
// known breakers (runner_env.cc), the writers (runner_report.cc) and the checklist
// (runner_checklist.cc). Internal to the runner and its tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/sys/error.h"
#include "suites/conformance/runner.h"

namespace ipcb::runner {

// --- flags and selection (runner_select.cc) -----------------------------------------------

// The --gtest_* flags, checked against GoogleTest 1.12's list (it ignores any it does not know,
// so a typo would silently run everything).
struct GtestFlags {
  std::string filter = "*";
  bool list_tests = false;
  bool also_run_disabled = false;
  bool shuffle = false;
  bool fail_fast = false;
  int repeat = 1;
  int random_seed = 0;
  std::string junit;                     // --gtest_output=xml[:FILE|:DIR/]: our JUnit XML file
  std::vector<std::string> passthrough;  // for the test processes' GoogleTest
};
// An error names the flag and what is wrong with it.
Result<GtestFlags> parse_gtest_flags(const std::vector<std::string>& flags);
// GoogleTest's filter: "POS1:POS2-NEG1:NEG2", '*' any text and '?' any one character.
bool filter_matches(const std::string& filter, const std::string& full_name);
// "SysvShm" -> "sysv_shm"; "PosixMqLimits" -> "posix_mq" (a known mechanism's name wins).
std::string mechanism_of_suite(const std::string& suite);
// A test's full name, mechanism and behaviour as the table shows them. Value-parameterised
// shared tests ("Shared/ExclusiveCreate.FailsWithEexist/posix_mq") name the mechanism last.
struct TestNames {
  std::string full, mechanism, behaviour;
};
TestNames names_of(const std::string& suite, const std::string& name, bool parameterised);

// Makes GoogleTest ready (once): registers the parameterised tests, drops its printer (the
// table replaces it) and its XML writer (ours replaces it).
void init_gtest(const std::vector<std::string>& passthrough);
// The registered tests `filter` selects, in registration order.
std::vector<const ::testing::TestInfo*> select_tests(const std::string& filter,
                                                     bool also_run_disabled);
// As --gtest_list_tests prints them.
void print_test_list(const std::vector<const ::testing::TestInfo*>& tests);

// --- the environment (runner_env.cc) -----------------------------------------------------

// A known environment breaker: when `problem` is set, a FAIL of a test of one of `mechanisms`
// ("*": all), or of a test that names `id` in CONFORM_NEEDS, is reported BROKEN.
struct Precondition {
  std::string id;    // "dev_shm"
  std::string what;  // "/dev/shm is a writable tmpfs with room"
  std::vector<std::string> mechanisms;
  std::string problem;  // empty: fine here
};
// Checks every known precondition now, as this process (and so as the tests) sees them.
std::vector<Precondition> check_preconditions();
// The broken precondition that explains a FAIL of a test of `mechanism` needing `needs`, or null.
const Precondition* breaker_for(const std::vector<Precondition>& pre, const std::string& mechanism,
                                const std::string& needs);
// Kernel, glibc, ids, capabilities, namespaces, sysctls, rlimits, /dev/shm and /dev/mqueue.
nlohmann::json environment_json(const std::vector<Precondition>& pre);

// --- running (runner_exec.cc) -------------------------------------------------------------

struct ExecOptions {
  double timeout_s = 10;
  bool fail_fast = false;
  bool print_failures = true;  // each failure on stderr as it happens
};
struct ExecResult {
  std::vector<ConformOutcome> outcomes;
  int interrupted_by = 0;  // the signal that stopped the run, if any
};
ExecResult run_each(const std::vector<const ::testing::TestInfo*>& tests, const ExecOptions& o,
                    const std::vector<Precondition>& pre);

// --- writers (runner_report.cc) ----------------------------------------------------------

std::string verdict_counts_line(const std::vector<ConformOutcome>& outcomes);
void print_table(const std::vector<ConformOutcome>& outcomes, std::FILE* to);
nlohmann::json outcome_json(const ConformOutcome& o);
ConformOutcome outcome_from_json(const nlohmann::json& j);
// JUnit XML (the schema GoogleTest's --gtest_output=xml writes), one testsuite per suite.
std::string junit_xml(const std::vector<ConformOutcome>& outcomes);
// Writes `text` to `path` through a temporary file and a rename: never a half-written file.
Status write_file_atomically(const std::string& path, const std::string& text);

// --- the checklist (runner_checklist.cc) -------------------------------------------------

struct ChecklistRow {
  std::string id, mechanism, call, condition, expected, root, applies;
  bool applicable() const { return applies == "yes"; }
};
// checklist.tsv, as built into the binary.
const std::string& embedded_checklist();
Result<std::vector<ChecklistRow>> parse_checklist(const std::string& tsv);

struct MechanismCoverage {
  std::string mechanism;
  int applicable = 0;
  std::vector<std::string> covered, skipped, failed, broken, missing;  // row IDs
};
struct Coverage {
  std::vector<MechanismCoverage> mechanisms;  // in checklist order
  // Row IDs a test names that the checklist does not have: "Test.Name: X99".
  std::vector<std::string> unknown;
};
Coverage compute_coverage(const std::vector<ChecklistRow>& rows,
                          const std::vector<ConformOutcome>& outcomes);
void print_coverage(const Coverage& c, std::FILE* to);
nlohmann::json coverage_json(const Coverage& c);

// --- self tests (runner_selftest.cc) -------------------------------------------------------

// With IPCBENCH_RUNNER_SELFTEST=1, registers the RunnerSelfTest.* tests the runner's own tests
// use (a pass, failures, a hang, a crash, a BROKEN, a held sysctl). Nothing otherwise.
void register_selftests_if_asked();

}  // namespace ipcb::runner
