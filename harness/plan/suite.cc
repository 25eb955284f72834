// Suite files: reading and checking them (see suite.h); the names a suite may use
// (suite_detail.h). Overrides: suite_overrides.cc; expansion: suite_expand.cc.
#include "harness/plan/suite.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_set>

#include "backends/backend.h"
#include "harness/plan/suite_detail.h"
#include "harness/run/workload.h"
#include "harness/sys/manifest.h"

#ifndef IPCBENCH_SOURCE_SUITES
#define IPCBENCH_SOURCE_SUITES "suites"
#endif

namespace ipcb {
namespace suite_detail {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::vector<std::string> all_backends() {
  std::vector<std::string> v;
  for (const auto& b : backends()) v.emplace_back(b.name);
  return v;
}

std::vector<std::string> all_workloads() {
  std::vector<std::string> v;
  for (const auto& w : workloads()) v.emplace_back(w.name);
  return v;
}

std::vector<std::string> all_syncs() {
  std::vector<std::string> v;
  for (const auto& b : backends()) {
    for (const auto& s : b.syncs()) {
      if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
    }
  }
  return v;
}

bool is_all(const std::vector<std::string>& v) {
  return v.size() == 1 && v[0] == "all";
}

const std::vector<std::string> kModes = {"copy", "inplace"};
const std::vector<std::string> kPlacements = {"cross", "same", "free"};  // what "all" means

// Every placement name a suite or --placement may use: kPlacements and the topology ones.
std::vector<std::string> placement_names() {
  std::vector<std::string> v = kPlacements;
  for (const auto& [name, what] : topology_placements()) v.push_back(name);
  return v;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Result<std::vector<std::string>> strings(const toml::table& t, const char* key, bool required) {
  std::vector<std::string> out;
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (required) return plain_error("suite", std::string("missing key '") + key + "'");
    return out;
  }
  const toml::array* a = n->as_array();
  if (a == nullptr) return plain_error("suite", std::string("'") + key + "' must be a list");
  for (const auto& e : *a) {
    if (auto s = e.value<std::string>()) {
      out.push_back(*s);
    } else if (auto i = e.value<int64_t>()) {
      out.push_back(std::to_string(*i));
    } else {
      return plain_error("suite", std::string("'") + key + "' holds a value that is not text");
    }
  }
  return out;
}

// Checks every name against the known ones; "all" stays as it is.
Status check_names(const std::vector<std::string>& names, const std::vector<std::string>& known,
                   const char* what) {
  if (is_all(names)) return ok_status();
  for (const auto& n : names) {
    if (std::find(known.begin(), known.end(), n) == known.end()) {
      return plain_error(std::string("unknown ") + what + " '" + n + "'",
                         "valid: " + join(known) + " (or all)");
    }
  }
  return ok_status();
}

}  // namespace suite_detail

using namespace suite_detail;

std::string suite_directory() {
  if (const char* d = std::getenv("IPCBENCH_SUITES"); d && *d) return d;
  // Installed: PREFIX/share/ipcbench/suites beside bin/. Else the source tree's (a build).
  if (std::string bin = sys::self_exe_dir(); !bin.empty()) {
    std::string installed = bin + "/../share/ipcbench/suites";
    if (sys::path_accessible(installed + "/default.toml", R_OK)) return installed;
  }
  return IPCBENCH_SOURCE_SUITES;
}

Result<size_t> parse_size(const std::string& text) {
  if (text.empty()) return plain_error("size", "empty size");
  size_t i = 0;
  unsigned long long v = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    v = v * 10 + static_cast<unsigned>(text[i] - '0');
    if (v > (1ull << 40)) return plain_error("size '" + text + "'", "too large");
    ++i;
  }
  if (i == 0) return plain_error("size '" + text + "'", "not a number (examples: 64, 4K, 1M)");
  std::string suffix = text.substr(i);
  if (suffix == "K" || suffix == "k" || suffix == "KiB") {
    v <<= 10;
  } else if (suffix == "M" || suffix == "m" || suffix == "MiB") {
    v <<= 20;
  } else if (!suffix.empty() && suffix != "B") {
    return plain_error("size '" + text + "'", "unknown suffix (use K or M, powers of 1024)");
  }
  if (v == 0) return plain_error("size '" + text + "'", "a message needs at least 1 byte");
  if (v > kMaxPayload) {
    return plain_error("size '" + text + "'", "above the largest supported payload, 64M");
  }
  return static_cast<size_t>(v);
}

std::string size_label(size_t b) {
  if (b >= (1u << 20) && b % (1u << 20) == 0) return std::to_string(b >> 20) + "M";
  if (b >= 1024 && b % 1024 == 0) return std::to_string(b >> 10) + "K";
  return std::to_string(b);
}

Result<std::vector<size_t>> suite_detail::parse_sizes(const std::vector<std::string>& texts) {
  std::vector<size_t> out;
  for (const auto& z : texts) {
    IPCB_TRY(auto some, parse_size_item(z));
    for (size_t b : some) {
      if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    }
  }
  return out;
}

namespace {

Status check_matrix(const Matrix& m, const std::string& where) {
  auto missing = [&](const char* key) {
    return plain_error("suite " + where, std::string("missing key '") + key + "'");
  };
  if (m.workloads.empty()) return missing("workloads");
  if (m.backends.empty()) return missing("backends");
  if (m.syncs.empty()) return missing("syncs");
  if (m.sizes.empty()) return missing("sizes");
  IPCB_TRY_STATUS(check_names(m.workloads, all_workloads(), "workload"));
  IPCB_TRY_STATUS(check_names(m.backends, all_backends(), "backend"));
  IPCB_TRY_STATUS(check_names(m.syncs, all_syncs(), "sync"));
  IPCB_TRY_STATUS(check_names(m.modes, kModes, "mode"));
  IPCB_TRY_STATUS(check_names(m.placements, placement_names(), "placement"));
  return ok_status();
}

// Reads a matrix's keys from `t`; keys it lacks keep the values of `defaults`.
Result<Matrix> read_matrix(const toml::table& t, const Matrix& defaults) {
  Matrix m = defaults;
  IPCB_TRY(auto w, strings(t, "workloads", false));
  IPCB_TRY(auto b, strings(t, "backends", false));
  IPCB_TRY(auto sy, strings(t, "syncs", false));
  IPCB_TRY(auto z, strings(t, "sizes", false));
  IPCB_TRY(auto mo, strings(t, "modes", false));
  IPCB_TRY(auto pl, strings(t, "placements", false));
  if (!w.empty()) m.workloads = w;
  if (!b.empty()) m.backends = b;
  if (!sy.empty()) m.syncs = sy;
  if (!z.empty()) {
    IPCB_TRY(m.sizes, parse_sizes(z));
  }
  if (!mo.empty()) m.modes = mo;
  if (!pl.empty()) m.placements = pl;
  return m;
}

// A key this suite format does not have is a mistake (a typo would silently mean "default").
Status check_keys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                  const std::string& where) {
  for (const auto& [key, node] : t) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return plain_error("suite " + where,
                         "unknown key '" + std::string(key.str()) + "' (known: " + list + ")");
    }
  }
  return ok_status();
}

// t[key] as T, `fallback` when absent; present with another type is an error.
template <typename T>
Result<T> typed(const toml::table& t, const char* key, T fallback, const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return fallback;
  if (auto v = n->value<T>(); v && n->is<T>()) return *v;
  if constexpr (std::is_same_v<T, double>) {
    if (auto i = n->value<int64_t>(); i && n->is_integer()) return static_cast<double>(*i);
  }
  return plain_error("suite " + where, std::string("'") + key + "' has the wrong type");
}

// `fan`: one number of peers, or a list of them (each a benchmark of its own).
Result<std::vector<int>> fan_list(const toml::table& t, const std::string& where) {
  std::vector<int64_t> raw;
  if (const toml::array* a = t["fan"].as_array()) {
    for (const auto& e : *a) {
      if (!e.is_integer()) return plain_error("suite " + where, "'fan' holds a non-integer");
      raw.push_back(*e.value<int64_t>());
    }
  } else {
    IPCB_TRY(int64_t one, typed<int64_t>(t, "fan", 2, where));
    raw.push_back(one);
  }
  std::vector<int> out;
  for (int64_t f : raw) {
    if (f < 1 || f > manifest::kMaxPeers) {
      return plain_error("suite " + where,
                         "fan must be between 1 and " + std::to_string(manifest::kMaxPeers));
    }
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(static_cast<int>(f));
  }
  if (out.empty()) return plain_error("suite " + where, "'fan' is an empty list");
  return out;
}

// `rates`: "sweep", or a list of offered rates ("10k", 2000, "sweep", ...).
Status read_rates(const toml::table& t, const std::string& where, Suite& s) {
  if (t.get("rates") == nullptr) return ok_status();  // the default: a sweep
  std::vector<std::string> texts;
  if (auto one = t["rates"].value<std::string>(); one && t["rates"].is_string()) {
    texts.push_back(*one);
  } else {
    IPCB_TRY(texts, strings(t, "rates", true));
  }
  auto parsed = parse_rates(texts);
  if (!parsed) return plain_error("suite " + where, parsed.error().message());
  if (parsed->first.empty() && !parsed->second) {
    return plain_error("suite " + where, "'rates' names no rate");
  }
  s.rates = parsed->first;
  s.rate_sweep = parsed->second;
  return ok_status();
}

}  // namespace

Result<Suite> parse_suite(const std::string& text, const std::string& origin) {
  toml::table t;
  try {
    t = toml::parse(text, origin);
  } catch (const toml::parse_error& err) {
    std::ostringstream e;
    e << err;
    return plain_error("suite " + origin, e.str());
  }
  static constexpr std::string_view kMatrixKeys[] = {"workloads", "backends", "syncs",
                                                     "sizes",     "modes",    "placements"};
  IPCB_TRY_STATUS(
      check_keys(t,
                 {"name", "description", "verify", "min_time", "repetitions", "stall_ms", "fan",
                  "rates", "sleep_us", "spin_us", "floors", "matrix", kMatrixKeys[0],
                  kMatrixKeys[1], kMatrixKeys[2], kMatrixKeys[3], kMatrixKeys[4], kMatrixKeys[5]},
                 origin));
  Suite s;
  IPCB_TRY(s.name, typed<std::string>(t, "name", origin, origin));
  IPCB_TRY(s.description, typed<std::string>(t, "description", "", origin));
  Matrix top{{}, {}, {}, {}, {"copy"}, {}};
  IPCB_TRY(top, read_matrix(t, top));
  s.top = top;
  if (const toml::array* list = t["matrix"].as_array()) {
    for (size_t i = 0; i < list->size(); ++i) {
      const toml::table* mt = (*list)[i].as_table();
      std::string where = origin + " [[matrix]] " + std::to_string(i + 1);
      if (mt == nullptr) return plain_error("suite " + where, "must be a table");
      IPCB_TRY_STATUS(check_keys(*mt,
                                 {kMatrixKeys[0], kMatrixKeys[1], kMatrixKeys[2], kMatrixKeys[3],
                                  kMatrixKeys[4], kMatrixKeys[5]},
                                 where));
      IPCB_TRY(Matrix m, read_matrix(*mt, top));
      IPCB_TRY_STATUS(check_matrix(m, where));
      s.matrices.push_back(std::move(m));
    }
  } else {
    IPCB_TRY_STATUS(check_matrix(top, origin));
    s.matrices.push_back(top);
  }
  IPCB_TRY(auto verify, typed<std::string>(t, "verify", "full", origin));
  IPCB_TRY(s.verify, parse_verify(verify));
  IPCB_TRY(s.min_time_s, typed<double>(t, "min_time", 0.1, origin));
  IPCB_TRY(int64_t reps, typed<int64_t>(t, "repetitions", 1, origin));
  IPCB_TRY(int64_t stall, typed<int64_t>(t, "stall_ms", 5000, origin));
  IPCB_TRY(s.fans, fan_list(t, origin));
  IPCB_TRY_STATUS(read_rates(t, origin, s));
  IPCB_TRY(int64_t sleep_us, typed<int64_t>(t, "sleep_us", 50, origin));
  IPCB_TRY(int64_t spin_us, typed<int64_t>(t, "spin_us", 20, origin));
  IPCB_TRY(s.floors, typed<std::string>(t, "floors", "start", origin));
  if (s.floors != "start" && s.floors != "each" && s.floors != "off") {
    return plain_error("suite " + origin, "floors must be \"start\", \"each\" or \"off\"");
  }
  if (!std::isfinite(s.min_time_s) || s.min_time_s <= 0 || s.min_time_s > 3600 || reps < 1 ||
      reps > 1000 || stall < 100 || stall > 3'600'000 || sleep_us < 0 || sleep_us > 1'000'000 ||
      spin_us < 0 || spin_us > 1'000'000) {
    return plain_error("suite " + origin,
                       "min_time must be in (0, 3600], repetitions in 1..1000, stall_ms in "
                       "100..3600000, sleep_us and spin_us in 0..1000000");
  }
  s.repetitions = static_cast<int>(reps);
  s.stall_ms = static_cast<uint64_t>(stall);
  s.sleep_us = static_cast<uint64_t>(sleep_us);
  s.spin_us = static_cast<uint64_t>(spin_us);
  return s;
}

Result<Suite> load_suite(const std::string& name_or_path) {
  std::string path = name_or_path;
  if (path.find('/') == std::string::npos && path.find(".toml") == std::string::npos) {
    path = suite_directory() + "/" + name_or_path + ".toml";
  }
  std::ifstream f(path);
  if (!f) return plain_error("suite '" + name_or_path + "'", "cannot read " + path);
  std::stringstream buf;
  buf << f.rdbuf();
  return parse_suite(buf.str(), path);
}

}  // namespace ipcb
