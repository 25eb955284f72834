// The preflight of `ipcbench run`: before measuring a transport, the conformance tests that
// check what its numbers rely on (its data arrives whole, in order and at the other process;
// its blocking, would-block and timeout behaviours; for a waiter, its wake-ups) run in forked
// processes, about a hundredth of a second each. A transport that fails one is not benchmarked:
// a benchmark of a mechanism that does not behave as documented would measure something else.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/sys/error.h"

namespace ipcb {

// The conformance tests (GoogleTest names, ':'-separated) that check `backend` with `sync`:
// the backend's own, then the waiter's or strategy's. Empty when there are none.
std::string preflight_filter(const std::string& backend, const std::string& sync);

struct PreflightVerdict {
  std::string test, verdict, reason;  // verdict: PASS, FAIL, SKIP or BROKEN
};

struct Preflight {
  std::vector<PreflightVerdict> verdicts;  // every test that ran, once
  double seconds = 0;
  // Whether `backend` with `sync` may be benchmarked; if not, why ("conformance test T FAIL: ...").
  std::string refusal(const std::string& backend, const std::string& sync) const;
  nlohmann::json to_json() const;
};

// Runs the union of the preflight tests of every (backend, sync) pair, each test once.
Result<Preflight> run_preflight(const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace ipcb
