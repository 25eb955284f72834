// bench.json: Google Benchmark's JSON, with ipcbench's repetitions, aggregates and context
// (see report.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "harness/report/report.h"
#include "harness/sys/sys.h"

namespace ipcb {
namespace {

using nlohmann::json;

// Keys of an entry that are not counters (every other number is one).
bool is_fixed_key(const std::string& k) {
  static const std::set<std::string> kFixed = {"name",
                                               "family_index",
                                               "per_family_instance_index",
                                               "run_name",
                                               "run_type",
                                               "repetitions",
                                               "repetition_index",
                                               "threads",
                                               "iterations",
                                               "time_unit",
                                               "aggregate_name",
                                               "aggregate_unit",
                                               "label",
                                               "error_occurred",
                                               "error_message"};
  return kFixed.count(k) != 0;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double stddev_of(const std::vector<double>& v) {
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

json finite_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

// The four aggregates Google Benchmark reports over `runs` (at least two, none failed).
std::vector<json> aggregates_of(const std::vector<const json*>& runs, int64_t family) {
  std::vector<std::string> keys = {"real_time", "cpu_time"};
  for (auto it = runs[0]->begin(); it != runs[0]->end(); ++it) {
    if (it.value().is_number() && !is_fixed_key(it.key()) && it.key() != "real_time" &&
        it.key() != "cpu_time") {
      keys.push_back(it.key());
    }
  }
  std::vector<json> out;
  for (const char* agg : {"mean", "median", "stddev", "cv"}) {
    const json& first = *runs[0];
    json a = {{"name", first.value("run_name", std::string()) + "_" + agg},
              {"family_index", family},
              {"per_family_instance_index", 0},
              {"run_name", first.value("run_name", std::string())},
              {"run_type", "aggregate"},
              {"repetitions", static_cast<int64_t>(runs.size())},
              {"threads", first.value("threads", 1)},
              {"aggregate_name", agg},
              {"aggregate_unit", std::string(agg) == "cv" ? "percentage" : "time"},
              {"iterations", static_cast<int64_t>(runs.size())},
              {"time_unit", first.value("time_unit", std::string("us"))}};
    if (first.contains("label")) a["label"] = first["label"];
    for (const auto& k : keys) {
      std::vector<double> v;
      for (const json* r : runs) {
        auto f = r->find(k);
        if (f != r->end() && f->is_number()) v.push_back(f->get<double>());
      }
      if (v.size() != runs.size()) continue;  // a counter some runs lack is not aggregated
      std::string name = agg;
      double x = name == "mean"     ? mean_of(v)
                 : name == "median" ? median_of(v)
                 : name == "stddev" ? stddev_of(v)
                                    : stddev_of(v) / mean_of(v);
      a[k] = finite_or_null(x);
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

Result<json> parse_bench_json(const std::string& text, const std::string& what) {
  static const std::regex kNonFinite(R"((:\s*)-?(nan|inf|infinity)\b)", std::regex::icase);
  std::string clean = std::regex_replace(text, kNonFinite, "$1null");
  auto j = json::parse(clean, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return plain_error(what, "not valid JSON");
  return j;
}

Result<json> read_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) return errno_error("open", path);
  std::stringstream buf;
  buf << f.rdbuf();
  return parse_bench_json(buf.str(), "read " + path);
}

Status write_text(const std::string& path, const std::string& text) {
  return sys::write_file_atomic(path, text, 0644);
}

void add_repetition_aggregates(json& bench, int repetitions, bool aggregates_only) {
  if (!bench.contains("benchmarks") || !bench["benchmarks"].is_array()) {
    bench["benchmarks"] = json::array();
  }
  // Entries of one benchmark name, in the order they ran.
  std::vector<std::string> order;
  std::map<std::string, std::vector<json>> by_name;
  for (auto& e : bench["benchmarks"]) {
    std::string name = e.value("run_name", e.value("name", std::string()));
    if (!by_name.count(name)) order.push_back(name);
    by_name[name].push_back(std::move(e));
  }
  json out = json::array();
  int64_t family = 0;
  for (const auto& name : order) {
    auto& runs = by_name[name];
    std::vector<const json*> good;
    for (size_t i = 0; i < runs.size(); ++i) {
      runs[i]["family_index"] = family;
      runs[i]["per_family_instance_index"] = 0;
      runs[i]["repetition_index"] = static_cast<int64_t>(i);
      runs[i]["repetitions"] = repetitions;
      if (!runs[i].value("error_occurred", false)) good.push_back(&runs[i]);
    }
    std::vector<json> aggs;
    if (repetitions > 1 && good.size() >= 2) aggs = aggregates_of(good, family);
    if (!(aggregates_only && repetitions > 1)) {
      for (auto& r : runs) out.push_back(std::move(r));
    }
    for (auto& a : aggs) out.push_back(std::move(a));
    ++family;
  }
  bench["benchmarks"] = std::move(out);
}

void add_context(json& j, const json& extra, const json& fields) {
  for (auto it = extra.begin(); it != extra.end(); ++it) j["context"][it.key()] = it.value();
  static const std::string kSuffix = "/manual_time";
  if (!j.contains("benchmarks")) j["benchmarks"] = json::array();
  for (auto& entry : j["benchmarks"]) {
    std::string name = entry.value("run_name", std::string());
    if (name.size() > kSuffix.size() && name.ends_with(kSuffix)) {
      name.resize(name.size() - kSuffix.size());
    }
    auto f = fields.find(name);
    if (f == fields.end()) continue;
    for (auto it = f->begin(); it != f->end(); ++it) {
      if (!entry.contains(it.key())) entry[it.key()] = it.value();
    }
  }
}

nlohmann::json histogram_to_json(const Histogram& h) {
  nlohmann::json buckets = nlohmann::json::array();
  for (int b = 0; b < Histogram::kBuckets; ++b) {
    if (uint64_t n = h.bucket_count(b); n != 0) {
      buckets.push_back({Histogram::bucket_low(b), Histogram::bucket_high(b), n});
    }
  }
  nlohmann::json j = {{"count", h.count()},
                      {"min", h.min()},
                      {"max", h.max()},
                      {"sum", h.sum()},
                      {"buckets", buckets}};
  // The clock's step, where it is coarser than a nanosecond: the percentiles interpolate
  // through it (see Histogram::set_resolution).
  if (h.resolution() > 1) j["resolution_ns"] = h.resolution();
  return j;
}

nlohmann::json format_histograms(const nlohmann::json& entries) {
  return {{"ipcbench_histograms_schema_version", 1},
          {"unit", "ns"},
          {"bucket_layout", "exact below 128 ns, then 128 buckets per power of two"},
          {"benchmarks", entries}};
}

}  // namespace ipcb
