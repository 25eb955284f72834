// bench.json: Google Benchmark's own JSON, with ipcbench's context added (see report.h).
#include <fstream>
#include <regex>
#include <sstream>

#include "harness/report.h"

namespace ipcb {

Result<nlohmann::json> read_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) return plain_error("read " + path, "cannot open");
  std::stringstream buf;
  buf << f.rdbuf();
  // Google Benchmark writes NaN and infinity as bare words (e.g. the coefficient of variation
  // of a counter that is always 0), which is not JSON: read those values as null.
  static const std::regex kNonFinite(R"((:\s*)-?(nan|inf|infinity)\b)", std::regex::icase);
  std::string text = std::regex_replace(buf.str(), kNonFinite, "$1null");
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return plain_error("read " + path, "not valid JSON");
  return j;
}

Status write_text(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return plain_error("write " + tmp, "cannot open for writing");
    f << text;
    if (!f.flush()) return plain_error("write " + tmp, "write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return errno_error("rename", tmp + " -> " + path);
  return ok_status();
}

Status add_context(const std::string& bench_json, const nlohmann::json& extra,
                   const nlohmann::json& fields) {
  IPCB_TRY(nlohmann::json j, read_json(bench_json));
  for (auto it = extra.begin(); it != extra.end(); ++it) j["context"][it.key()] = it.value();
  static const std::string kSuffix = "/manual_time";
  if (!j.contains("benchmarks")) j["benchmarks"] = nlohmann::json::array();
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
  return write_text(bench_json, j.dump(2) + "\n");
}

}  // namespace ipcb
