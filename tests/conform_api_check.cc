// run_conformance_tests(), the runner's interface for `ipcbench run`'s preflight, called from a
// plain program (no GoogleTest run of its own, as in ipcbench): outcomes in order with their
// rows, a crash and a hang are FAILs of their tests while the caller lives on, and an empty
// selection is an error. Exits 0 when every check holds, else 1 naming each that did not.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "suites/conformance/runner.h"
#include "suites/conformance/runner_internal.h"

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "conform_api_check: %s\n", what.c_str());
}

}  // namespace

int main() {
  auto shared = ipcb::run_conformance_tests("Shared/ExclusiveCreate.*");
  check(shared.ok(), "Shared/ExclusiveCreate.* did not run");
  if (shared) {
    check(shared->size() == 8, "expected 8 outcomes, got " + std::to_string(shared->size()));
    for (const auto& o : *shared)
      check(o.verdict == "PASS", o.test + ": " + o.verdict + " " + o.reason);
    check(!shared->empty() && shared->front().mechanism == "sysv_shm" &&
              shared->front().rows == "S02",
          "the first outcome is not sysv_shm's with row S02");
  }

  setenv("IPCBENCH_RUNNER_SELFTEST", "1", 1);
  ipcb::runner::register_selftests_if_asked();
  ipcb::ConformRunOptions opt;
  opt.test_timeout_s = 0.5;
  auto bad = ipcb::run_conformance_tests(
      "RunnerSelfTest.Crashes:RunnerSelfTest.Hangs:"
      "RunnerSelfTest.Passes",
      opt);
  check(bad.ok() && bad->size() == 3, "the self tests did not give 3 outcomes");
  if (bad && bad->size() == 3) {
    check((*bad)[0].verdict == "PASS", "Passes: " + (*bad)[0].verdict);
    check((*bad)[1].verdict == "FAIL" && (*bad)[1].reason.find("timed out") == 0,
          "Hangs: " + (*bad)[1].verdict + " " + (*bad)[1].reason);
    check((*bad)[2].verdict == "FAIL" && (*bad)[2].reason.find("signal 11") != std::string::npos,
          "Crashes: " + (*bad)[2].verdict + " " + (*bad)[2].reason);
  }
  check(!ipcb::run_conformance_tests("NoSuchSuite.*").ok(), "an empty selection is no error");
  std::printf("conform_api_check: %s\n", failures == 0 ? "all checks hold" : "FAILED");
  return failures == 0 ? 0 : 1;
}
