// Result writers: one per output format, each formatting the finished results and never
// measuring anything. bench.json is Google Benchmark's JSON document (produced in memory, see
// suites/bench/run.h) with ipcbench's repetitions, aggregates and context added, written
// atomically once complete.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "harness/run/histogram.h"
#include "harness/sys/error.h"

namespace ipcb {

// Parses Google Benchmark's JSON text (`what` names it in errors). Google Benchmark writes NaN
// and infinity as bare words, which are not JSON: those values are read as null.
Result<nlohmann::json> parse_bench_json(const std::string& text, const std::string& what);
Result<nlohmann::json> read_json(const std::string& path);
// Writes `text` to a temporary file next to `path`, syncs it and renames it over `path`: a
// crash, a signal or a full disk never leaves a truncated file, and a previous good file stays
// until the new one is complete. Errors name the call and errno (e.g. ENOSPC).
Status write_text(const std::string& path, const std::string& text);

// ipcbench runs each repetition as its own Google Benchmark run (so a failed repetition never
// reaches Google Benchmark's statistics). This numbers the entries of each benchmark name
// (repetition_index 0..N-1, repetitions N) and appends the aggregates Google Benchmark would
// (mean, median, stddev, cv of the time and every counter) over the repetitions that did not
// fail, when at least two did. With `aggregates_only`, repeated benchmarks keep only those.
void add_repetition_aggregates(nlohmann::json& bench, int repetitions, bool aggregates_only);
// Adds `extra` under context (environment, suite, limits, schema version) and, to every entry,
// the fields recorded for its benchmark name in `fields` (name -> object of descriptive
// fields: wait_mode, copy_mode, placement, ...).
void add_context(nlohmann::json& bench, const nlohmann::json& extra,
                 const nlohmann::json& fields = nlohmann::json::object());
// A histogram as JSON: count, min, max, sum (ns) and its non-empty buckets as [low, high,
// count] (inclusive bounds, ns). Buckets are fixed (see histogram.h), so two histograms merge by
// adding the counts of equal buckets.
nlohmann::json histogram_to_json(const Histogram& h);
// histograms.json: every benchmark entry's full latency histograms, beside bench.json.
// `entries` holds one object per benchmark run: name, repetition_index, latency, rtt.
nlohmann::json format_histograms(const nlohmann::json& entries);
// bench.csv: one row per benchmark entry, the counters as columns.
std::string format_csv(const nlohmann::json& bench);
// summary.md: per workload, a table of mechanism x waiter rows, one column per size.
std::string format_summary(const nlohmann::json& bench);

}  // namespace ipcb
