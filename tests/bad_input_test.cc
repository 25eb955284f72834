// Bad input, a table of it: every case gets exit status 2, exactly one line on stderr naming the
// problem, no output folder written, nothing left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/process_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;

struct BadInput {
  std::vector<std::string> args;
  const char* expect;  // a substring of the one error line
};

// The cases: `run` options and values, suite files, Google Benchmark's pass-through flags, and
// the other subcommands (conform has its own table in conform_runner_test.cc).
const std::vector<BadInput>& cases() {
  static const std::vector<BadInput> kCases = {
      // run: names
      {{"run", "--backend", "carrier_pigeon"}, "valid: sysv_shm, posix_shm, mmap_file"},
      {{"run", "--workload", "pong"}, "unknown workload 'pong'"},
      {{"run", "--sync", "telepathy"}, "unknown sync"},
      {{"run", "--mode", "inplace", "--backend", "pipe"}, "inplace needs a shared-memory"},
      {{"run", "--mode", "zerocopy"}, "unknown mode"},
      {{"run", "--placement", "sideways"}, "unknown placement"},
      {{"run", "--backend", "pipe", "--sync", "futex"}, "does not fit backend 'pipe'"},
      {{"run", "--backend", "pipe", "--sync", "futex,block", "--workload", "pingpong"},
       "sync 'futex' fits none of the chosen backends"},
      {{"run", "--verify", "sometimes"}, "unknown mode"},
      {{"run", "--floors", "sometimes"}, "--floors: expected start, each or off"},
      {{"run", "--suite", "no-such-suite"}, "cannot read"},
      {{"run", "--frobnicate"}, "unknown option"},
      {{"run", "stray-word"}, "unknown option"},
      // run: sizes
      {{"run", "--size", "0"}, "at least 1 byte"},
      {{"run", "--size", "12Q"}, "unknown suffix"},
      {{"run", "--size", "abc"}, "not a number"},
      {{"run", "--size", "65M"}, "above the largest supported payload"},
      {{"run", "--size", "-64"}, "size"},
      {{"run", "--size", ""}, "empty size list"},
      // run: numbers (negative, NaN, infinite, out of range, not a number)
      {{"run", "--fan", "0"}, "--fan '0'"},
      {{"run", "--fan", "33"}, "from 1 to 32"},
      {{"run", "--fan", "two"}, "--fan 'two'"},
      {{"run", "--sleep-us=-3"}, "--sleep-us '-3'"},
      {{"run", "--spin-us=-1"}, "--spin-us '-1'"},
      {{"run", "--timeout-ms", "0"}, "--timeout-ms '0'"},
      {{"run", "--timeout-ms=-5"}, "--timeout-ms '-5'"},
      {{"run", "--repetitions", "0"}, "--repetitions '0'"},
      {{"run", "--repetitions", "1e3"}, "whole number"},
      {{"run", "--min-time", "nan"}, "--min-time 'nan'"},
      {{"run", "--min-time", "inf"}, "--min-time 'inf'"},
      {{"run", "--min-time", "-1"}, "--min-time '-1'"},
      {{"run", "--min-time", "4000"}, "at most 3600"},
      {{"run", "--iterations", "0"}, "--iterations '0'"},
      {{"run", "--inject-ns", "-1"}, "inject-ns"},
      // run: CPUs and output
      {{"run", "--pin", "0,4096"}, "not one this process may run on"},
      {{"run", "--pin", "a,b"}, "--pin 'a,b'"},
      {{"run", "--out", "/etc/passwd/results"}, "output folder"},
      {{"run", "--out", ""}, "--out: an empty folder name"},
      // Google Benchmark's flags
      {{"run", "--benchmark_repetitions=-3"}, "from 1 to 1000"},
      {{"run", "--benchmark_out=/tmp/x.json"}, "--out DIR itself"},
      {{"run", "--benchmark_out_format=csv"}, "--out DIR itself"},
      {{"run", "--benchmark_min_time=-1"}, "more than 0"},
      {{"run", "--benchmark_filter=no-such-benchmark"}, "matches none of the"},
      {{"run", "--benchmark_filter=["}, "not a regular expression"},
      {{"run", "--benchmark_bogus=1"}, "--benchmark_bogus: not a flag of Google Benchmark"},
      // other subcommands
      {{"floors", "--budget", "0"}, "--budget"},
      {{"floors", "--size", "0"}, "at least 1 byte"},
      {{"floors", "--placement", "sideways"}, "placement"},
      {{"limits", "--max-probe-bytes", "12Q"}, "expected bytes"},
      {{"limits", "--suite", "no-such-suite"}, "cannot read"},
      {{"clean", "--now"}, "--now"},
      {{"list", "extra"}, "extra"},
      {{"no-such-command"}, "unknown command 'no-such-command'"},
  };
  return kCases;
}

class BadInputTable : public RunFolders {
 protected:
  BadInputTable()
      : RunFolders({.tag = "bad-",
                    .mmap = false,
                    .env = {},
                    .leftover = "bad input left IPC objects behind"}) {}
};

TEST_F(BadInputTable, EveryCaseExitsTwoWithOneLineAndWritesNothing) {
  ASSERT_GE(cases().size(), 40u);
  for (const auto& c : cases()) {
    std::vector<std::string> args = c.args;
    if (args[0] == "run" && std::find(args.begin(), args.end(), "--out") == args.end()) {
      args.push_back("--out");
      args.push_back(out_ + "/bad");
    }
    std::string shown;
    for (const auto& a : c.args) shown += a + " ";
    SCOPED_TRACE(shown);
    Outcome o = run_ipcbench(args, env_, 30);
    EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
    EXPECT_NE(o.err.find(c.expect), std::string::npos) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    EXPECT_FALSE(fs::exists(out_ + "/bad/bench.json"));
  }
}

// --help and --version are not errors: exit 0, on stdout.
TEST_F(BadInputTable, HelpAndVersionExitZero) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"},
                                                                {"--version"},
                                                                {"run", "--help"},
                                                                {"conform", "--help"},
                                                                {"floors", "--help"},
                                                                {"limits", "--help"},
                                                                {"clean", "--help"},
                                                                {"list", "--help"}}) {
    Outcome o = run_ipcbench(args, env_, 30);
    EXPECT_EQ(o.exit_code, 0) << args[0] << " " << (args.size() > 1 ? args[1] : "") << o.err;
    EXPECT_FALSE(o.out.empty());
  }
}

}  // namespace
}  // namespace ipcb::test
