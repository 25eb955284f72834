// What the CLI's commands share: the one-line usage error (exit 2), list splitting, the output
// folder, CPU choice, byte sizes and the limit-probe flags.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "harness/limits/limits.h"
#include "harness/plan/suite.h"
#include "harness/sys/error.h"
#include "harness/sys/sys.h"

namespace ipcb {

inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Prints "ipcbench: LINE" on stderr and returns kExitUsage.
int usage_error(const std::string& line);
// "a,b,,c" -> {"a", "b", "c"}; every element of `v` split the same way.
std::vector<std::string> split(const std::string& s);
std::vector<std::string> split_all(const std::vector<std::string>& v);

// mkdir -p `dir`, then proves it writable (a file is created and removed).
Status prepare_out_dir(const std::string& dir);
// Holds an exclusive lock on DIR/.ipcbench.lock (flock, dropped by the kernel when this process
// dies) so that two runs never write into one folder at once; the error names the other run.
Result<sys::Fd> lock_out_dir(const std::string& dir);

// The CPUs placements use: --pin A,B, else the first two this process may run on.
Result<CpuChoice> choose_cpus(const std::string& pin);
std::string utc_now();
// `text` broken at spaces into lines of at most `width` columns, the first one after `first`,
// the others after `indent` (a console that fits 120 columns).
std::string wrap(const std::string& first, const std::string& text, size_t width = 120,
                 const std::string& indent = "    ");
// "256M", "1G", "65536": bytes, with K/M/G/T as powers of 1024.
Result<uint64_t> parse_bytes(const std::string& text, const char* flag);
// A whole number in [lo, hi] (no sign tricks, no trailing text), or an error naming the flag
// and the range.
Result<int64_t> parse_int(const std::string& text, const char* flag, int64_t lo, int64_t hi);
// A finite number in (lo, hi] (NaN and infinities refused).
Result<double> parse_seconds(const std::string& text, const char* flag, double lo, double hi);
// Moves the specs a probe shows cannot run here into the skipped list, naming the real limit.
void skip_probed(const limits::Limits& l, Expansion& ex);

// --max-probe-bytes and --no-probe, shared by `limits` and `run`.
struct ProbeArgs {
  std::string max_probe_bytes = "256M";
  bool no_probe = false;
  void add_to(CLI::App* app);
  Result<limits::Options> options() const;
};

}  // namespace ipcb
