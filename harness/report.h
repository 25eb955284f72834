// Result writers: one per output format, each reading the finished bench.json and never
// measuring anything. bench.json itself is written by Google Benchmark; we add our context.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "harness/error.h"

namespace ipcb {

Result<nlohmann::json> read_json(const std::string& path);
Status write_text(const std::string& path, const std::string& text);

// Adds `extra` under context (environment, suite, limits, schema version) and, to every entry,
// the fields recorded for its benchmark name in `fields` (name -> object of descriptive
// fields: wait_mode, copy_mode, placement, ...), then rewrites the file.
Status add_context(const std::string& bench_json, const nlohmann::json& extra,
                   const nlohmann::json& fields = nlohmann::json::object());
// bench.csv: one row per benchmark entry, the counters as columns.
std::string format_csv(const nlohmann::json& bench);
// summary.md: per workload, a table of mechanism x waiter rows, one column per size.
std::string format_summary(const nlohmann::json& bench);

}  // namespace ipcb
