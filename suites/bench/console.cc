// The compact console (see console.h).
#include "suites/bench/console.h"

#include <cmath>
#include <cstdarg>

#include "harness/sys/sys.h"
#include "suites/bench/run.h"

namespace ipcb {
namespace {

double counter(const benchmark::BenchmarkReporter::Run& run, const char* name) {
  auto it = run.counters.find(name);
  return it == run.counters.end() ? std::nan("") : it->second.value;
}

std::string printf_string(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

// The benchmark's name without Google Benchmark's "/manual_time" suffix.
std::string short_name(const benchmark::BenchmarkReporter::Run& run) {
  std::string n = strip_iterations(run.benchmark_name());
  if (auto at = n.rfind("/manual_time"); at != std::string::npos) n.erase(at);
  return n;
}

}  // namespace

std::string CompactReporter::duration(double ns) {
  if (!std::isfinite(ns)) return "-";
  static const struct {
    double scale;
    const char* unit;
  } kUnits[] = {{1, "ns"}, {1e3, "us"}, {1e6, "ms"}, {1e9, "s"}};
  for (const auto& u : kUnits) {  // three significant digits: at most 7 characters
    const double v = ns / u.scale;
    if (v < 9.995) return printf_string("%.2f %s", v, u.unit);
    if (v < 99.95) return printf_string("%.1f %s", v, u.unit);
    if (v < 999.5 || u.scale == 1e9) return printf_string("%.0f %s", v, u.unit);
  }
  return "-";
}

std::string CompactReporter::rate(double bps) {
  if (!std::isfinite(bps) || bps <= 0) return "-";
  if (bps < 1e9) return printf_string("%.0f MB/s", bps / 1e6);
  return printf_string("%.1f GB/s", bps / 1e9);
}

std::string CompactReporter::line(const Run& run) {
  std::string name = short_name(run);
  if (name.size() > 40) name = name.substr(0, 39) + "~";
  if (run.error_occurred) {
    std::string why = run.error_message;
    if (why.size() > 60) why = why.substr(0, 59) + "~";
    return printf_string("%-40s FAILED: %s", name.c_str(), why.c_str());
  }
  const double self = counter(run, "cpu_self_ns_per_msg"),
               peer = counter(run, "cpu_peer_ns_per_msg");
  const double ratio = counter(run, "ratio_to_floor");
  std::string cpu = std::isfinite(self) ? duration(self) + "+" + duration(peer) : "-";
  std::string floor = !std::isfinite(ratio) ? ""
                      : ratio < 9.995       ? printf_string("%.2fx", ratio)
                      : ratio < 99.95       ? printf_string("%.1fx", ratio)
                                            : printf_string("%.0fx", ratio);
  // The floor moved while this result was measured, or its pace was not steady (see
  // floor_unsettled): not a judgement.
  if (!floor.empty() && counter(run, "floor_unsettled") > 0) floor += "?";
  return printf_string("%-40s p50 %7s p99 %7s %9s cpu %15s %5s", name.c_str(),
                       duration(counter(run, "latency_p50_ns")).c_str(),
                       duration(counter(run, "latency_p99_ns")).c_str(),
                       rate(counter(run, "bytes_per_second")).c_str(), cpu.c_str(), floor.c_str());
}

bool CompactReporter::ReportContext(const Context&) {
  start_ns_ = sys::now_ns();
  std::fprintf(out_, "%-9s %-40s %11s %11s %9s %19s %5s\n", "", "benchmark (one-way latency)",
               "p50", "p99", "rate", "cpu/msg self+peer", "floor");
  std::fflush(out_);
  return true;
}

void CompactReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs) {
    ++done_;
    std::string eta;
    if (total_ > done_) {
      const double per =
          static_cast<double>(sys::now_ns() - start_ns_) / 1e9 / static_cast<double>(done_);
      const auto left = static_cast<long>(per * static_cast<double>(total_ - done_) + 0.5);
      eta = printf_string(" ETA %ld:%02ld", left / 60, left % 60);
    }
    std::string count =
        total_ ? printf_string("[%zu/%zu]", done_, total_) : printf_string("[%zu]", done_);
    std::fprintf(out_, "%-9s %s%s\n", count.c_str(), line(run).c_str(), eta.c_str());
  }
  std::fflush(out_);
}

}  // namespace ipcb
