// bench.csv, derived from bench.json (Google Benchmark's CSV reporter is deprecated).
#include <set>
#include <sstream>

#include "harness/report.h"

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

std::string format_csv(const nlohmann::json& bench) {
  static const char* kFixed[] = {"name",       "run_type",       "repetition_index",
                                 "iterations", "real_time",      "cpu_time",
                                 "time_unit",  "error_occurred", "error_message"};
  std::set<std::string> fixed(std::begin(kFixed), std::end(kFixed));
  std::vector<std::string> counters;
  std::set<std::string> seen;
  for (const auto& b : bench.value("benchmarks", nlohmann::json::array())) {
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (it.value().is_number() && !fixed.count(it.key()) && !seen.count(it.key()) &&
          it.key() != "family_index" && it.key() != "per_family_instance_index" &&
          it.key() != "repetitions" && it.key() != "threads") {
        seen.insert(it.key());
        counters.push_back(it.key());
      }
    }
  }
  std::ostringstream out;
  bool first = true;
  for (const char* f : kFixed) out << (first ? "" : ",") << f, first = false;
  for (const auto& c : counters) out << "," << c;
  out << "\n";
  for (const auto& b : bench.value("benchmarks", nlohmann::json::array())) {
    first = true;
    for (const char* f : kFixed) {
      out << (first ? "" : ",") << csv_field(b.value(f, nlohmann::json()));
      first = false;
    }
    for (const auto& c : counters) out << "," << csv_field(b.value(c, nlohmann::json()));
    out << "\n";
  }
  return out.str();
}

}  // namespace ipcb
