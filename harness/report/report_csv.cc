// bench.csv, derived from bench.json (Google Benchmark's CSV reporter is deprecated).
#include <set>
#include <sstream>

#include "harness/report/report.h"

namespace ipcb {
namespace {

std::string csv_field(const nlohmann::json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

// Tidy: one row per entry, what it measured in columns of their own (no name parsing needed to
// pivot by backend), then Google Benchmark's fields, then every counter.
std::string format_csv(const nlohmann::json& bench) {
  // column -> the bench.json field it comes from
  static const std::pair<const char*, const char*> kDescribe[] = {
      {"workload", "workload"},
      {"backend", "backend"},
      {"sync", "sync"},
      {"size_bytes", "payload_bytes"},
      {"mode", "copy_mode"},
      {"placement", "placement"},
      {"fan", "fan"},
      {"wait_mode", "wait_mode"},
      {"verify", "verify"},
      {"repetition", "repetition_index"},
      {"aggregate", "aggregate_name"}};
  static const char* kFixed[] = {"run_type",  "iterations",     "real_time",    "cpu_time",
                                 "time_unit", "error_occurred", "error_message"};
  std::set<std::string> taken = {"name", "family_index", "per_family_instance_index", "repetitions",
                                 "threads"};
  for (const auto& [col, field] : kDescribe) taken.insert(field);
  for (const char* f : kFixed) taken.insert(f);
  std::vector<std::string> counters;
  for (const auto& b : bench.value("benchmarks", nlohmann::json::array())) {
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (it.value().is_number() && !taken.count(it.key())) {
        taken.insert(it.key());
        counters.push_back(it.key());
      }
    }
  }
  std::ostringstream out;
  out << "name";
  for (const auto& [col, field] : kDescribe) out << "," << col;
  for (const char* f : kFixed) out << "," << f;
  for (const auto& c : counters) out << "," << c;
  out << "\n";
  for (const auto& b : bench.value("benchmarks", nlohmann::json::array())) {
    out << csv_field(b.value("name", nlohmann::json()));
    for (const auto& [col, field] : kDescribe)
      out << "," << csv_field(b.value(field, nlohmann::json()));
    for (const char* f : kFixed) out << "," << csv_field(b.value(f, nlohmann::json()));
    for (const auto& c : counters) out << "," << csv_field(b.value(c, nlohmann::json()));
    out << "\n";
  }
  return out.str();
}

}  // namespace ipcb
