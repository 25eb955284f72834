// summary.md: one table per workload, mechanism x waiter rows, one column per size, derived
// from bench.json. Pingpong cells show one-way p50 / p99 latency, stream cells throughput.
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "harness/report/report.h"

namespace ipcb {
namespace {

struct Cell {
  double p50 = 0, p99 = 0, bps = 0;
  double cpu_self = 0, cpu_peer = 0;  // ns per message
  double ratio = 0;                   // to the physical floor that bounds it (0: none)
  bool error = false;
};

std::string ns_text(double ns) {
  char b[32];
  if (ns >= 1e6) {
    std::snprintf(b, sizeof b, "%.2f ms", ns / 1e6);
  } else if (ns >= 1e3) {
    std::snprintf(b, sizeof b, "%.2f µs", ns / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.0f ns", ns);
  }
  return b;
}

std::string rate_text(double bps) {
  char b[32];
  if (bps >= 1e9) {
    std::snprintf(b, sizeof b, "%.2f GB/s", bps / 1e9);
  } else {
    std::snprintf(b, sizeof b, "%.1f MB/s", bps / 1e6);
  }
  return b;
}

std::string size_text(size_t b) {
  if (b >= (1u << 20) && b % (1u << 20) == 0) return std::to_string(b >> 20) + " MiB";
  if (b >= 1024 && b % 1024 == 0) return std::to_string(b >> 10) + " KiB";
  return std::to_string(b) + " B";
}

// A section of the strings in context.`key` (an array), under `title`; nothing when empty.
void list_section(std::ostringstream& out, const nlohmann::json& ctx, const char* key,
                  const char* title) {
  auto lines = ctx.value(key, nlohmann::json::array());
  if (!lines.is_array() || lines.empty()) return;
  out << "## " << title << "\n\n";
  for (const auto& line : lines) {
    if (line.is_string()) out << "- " << line.get<std::string>() << "\n";
  }
  out << "\n";
}

// context.floors as tables, one per placement: what no mechanism can beat on this machine.
void floors_section(std::ostringstream& out, const nlohmann::json& ctx) {
  auto floors = ctx.value("floors", nlohmann::json::array());
  if (!floors.is_array() || floors.empty()) return;
  out << "## Physical floors\n\n"
      << "Measured at the start of the run, pinned like it: cache-line hand-offs (one line, and "
         "two lines: flag + reply), the clock's cost, a blocking futex and pipe hand-off; per "
         "size the lowest one-way ping-pong (hand-off + the copy passes) and the highest stream "
         "(copy in + copy out of a ring). Each cell above ends with its ratio to the floor that "
         "bounds it (a spinning shared-memory stream's with its steady pace, "
         "steady_bytes_per_second in bench.json: the host's slow spells left out, as the "
         "ceiling leaves them out).\n\n";
  for (const auto& f : floors) {
    if (!f.is_object()) continue;
    out << "**" << f.value("placement", "?") << "** (CPU " << f.value("cpu_a", -1) << " / CPU "
        << f.value("cpu_b", -1) << "): one line " << ns_text(f.value("line1_ns", 0.0))
        << ", two lines " << ns_text(f.value("line2_ns", 0.0)) << ", clock read "
        << ns_text(f.value("clock_ns", 0.0)) << ", futex hand-off "
        << ns_text(f.value("futex_handoff_ns", 0.0)) << ", pipe hand-off "
        << ns_text(f.value("pipe_handoff_ns", 0.0)) << "\n\n";
    auto sizes = f.value("sizes", nlohmann::json::array());
    if (!sizes.is_array() || sizes.empty()) continue;
    out << "| size | ping-pong one-way, copy | in place | stream ceiling, copy | in place | "
           "copy |\n|---|---:|---:|---:|---:|---:|\n";
    for (const auto& z : sizes) {
      if (!z.is_object()) continue;
      out << "| " << size_text(z.value("bytes", size_t{0})) << " | "
          << ns_text(z.value("pingpong_copy_ns", 0.0)) << " | "
          << ns_text(z.value("pingpong_inplace_ns", 0.0)) << " | "
          << rate_text(z.value("stream_copy_bytes_per_second", 0.0)) << " | "
          << rate_text(z.value("stream_inplace_bytes_per_second", 0.0)) << " | "
          << rate_text(z.value("memcpy_bytes_per_second", 0.0)) << " |\n";
    }
    out << "\n";
  }
}

}  // namespace

std::string format_summary(const nlohmann::json& bench) {
  // workload -> "backend / sync" -> size -> cell (the median aggregate when repeated)
  std::map<std::string, std::map<std::string, std::map<size_t, Cell>>> table;
  std::map<std::string, std::set<size_t>> sizes;
  const auto& ctx = bench.value("context", nlohmann::json::object());
  for (const auto& b : bench.value("benchmarks", nlohmann::json::array())) {
    std::string run_type = b.value("run_type", "iteration");
    std::string agg = b.value("aggregate_name", "");
    bool repeated = b.value("repetitions", 1) > 1;
    if (repeated && !(run_type == "aggregate" && agg == "median")) continue;
    std::string name = b.value("run_name", b.value("name", ""));
    std::istringstream parts(name);
    std::string w, be, sy, sz;
    if (!std::getline(parts, w, '/') || !std::getline(parts, be, '/') ||
        !std::getline(parts, sy, '/') || !std::getline(parts, sz, '/')) {
      continue;
    }
    size_t size = std::strtoull(sz.c_str(), nullptr, 10);
    Cell c;
    c.error = b.value("error_occurred", false);
    c.p50 = b.value("latency_p50_ns", 0.0);
    c.p99 = b.value("latency_p99_ns", 0.0);
    c.bps = b.value("bytes_per_second", 0.0);
    c.cpu_self = b.value("cpu_self_ns_per_msg", 0.0);
    c.cpu_peer = b.value("cpu_peer_ns_per_msg", 0.0);
    c.ratio = b.value("ratio_to_floor", 0.0);
    std::string row = be + " / " + sy;
    if (b.value("copy_mode", "copy") == "inplace") row += " (inplace)";
    if (ctx.value("placement", "") == "mixed") row += " @" + b.value("placement", "?");
    table[w][row][size] = c;
    sizes[w].insert(size);
  }
  std::ostringstream out;
  out << "# ipcbench results\n\n";
  out << "- machine: " << ctx.value("cpu_model", "?") << ", " << ctx.value("num_cpus", 0)
      << " CPUs, " << ctx.value("kernel", "?") << "\n";
  out << "- placement:";
  for (const auto& p : ctx.value("placements", nlohmann::json::array())) {
    out << " " << p.value("name", "?") << " (measured side on CPU "
        << p.value("cpu_measured_side", -1) << ", peers on CPU " << p.value("cpu_peer", -1) << ")";
  }
  out << "\n";
  out << "- verify: " << ctx.value("verify", "?") << "; timer cost "
      << ctx.value("timer_cost_ns", 0) << " ns per read; build " << ctx.value("build_type", "?")
      << "; run " << ctx.value("date", "?") << "\n\n";
  for (const auto& [workload, rows] : table) {
    bool pingpong = workload == "pingpong";
    out << "## " << workload << "\n\n";
    out << (pingpong ? "One-way latency, p50 / p99 (half the round trip). Payload size per column."
                     : "Throughput of payload bytes (p50 one-way latency in brackets).")
        << " CPU time per message of the measured side + the peers follows each cell."
        << "\n\n| backend / sync |";
    for (size_t s : sizes[workload]) out << " " << size_text(s) << " |";
    out << "\n|---|";
    for (size_t i = 0; i < sizes[workload].size(); ++i) out << "---:|";
    out << "\n";
    for (const auto& [row, cells] : rows) {
      out << "| " << row << " |";
      for (size_t s : sizes[workload]) {
        auto it = cells.find(s);
        if (it == cells.end()) {
          out << " – |";
        } else if (it->second.error) {
          out << " error |";
        } else {
          const Cell& c = it->second;
          if (pingpong) {
            out << " " << ns_text(c.p50) << " / " << ns_text(c.p99);
          } else {
            out << " " << rate_text(c.bps) << " (" << ns_text(c.p50) << ")";
          }
          out << "; cpu " << ns_text(c.cpu_self) << " + " << ns_text(c.cpu_peer);
          if (c.ratio > 0) {
            char r[32];
            std::snprintf(r, sizeof r, "; %.2fx floor", c.ratio);
            out << r;
          }
          out << " |";
        }
      }
      out << "\n";
    }
    out << "\n";
  }
  list_section(out, ctx, "ipcbench_below_floor",
               "Below the physical floor (a measuring error, or the machine changed speed)");
  list_section(out, ctx, "floors_unsettled",
               "Unsettled ratios (the floor moved while the result was measured, or the host ran "
               "it faster than both floors, or its pace was not steady: ratio not judged)");
  floors_section(out, ctx);
  auto skipped = ctx.value("ipcbench_skipped", nlohmann::json::array());
  if (!skipped.empty()) {
    out << "## Skipped (limits of this machine)\n\n";
    for (const auto& sk : skipped) {
      out << "- " << sk.value("name", "?") << ": " << sk.value("reason", "?") << "\n";
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace ipcb
