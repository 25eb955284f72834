// Suite files and matrix expansion (see suite.h).
#include "harness/suite.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "backends/backend.h"
#include "harness/workload.h"

#ifndef IPCBENCH_SOURCE_SUITES
#define IPCBENCH_SOURCE_SUITES "suites"
#endif

namespace ipcb {
namespace {

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

}  // namespace

std::string suite_directory() {
  if (const char* d = std::getenv("IPCBENCH_SUITES"); d && *d) return d;
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

Result<Suite> parse_suite(const std::string& text, const std::string& origin) {
  toml::table t;
  try {
    t = toml::parse(text, origin);
  } catch (const toml::parse_error& err) {
    std::ostringstream e;
    e << err;
    return plain_error("suite " + origin, e.str());
  }
  Suite s;
  s.name = t["name"].value_or(origin);
  s.description = t["description"].value_or(std::string());
  IPCB_TRY(s.workloads, strings(t, "workloads", true));
  IPCB_TRY(s.backends, strings(t, "backends", true));
  IPCB_TRY(s.syncs, strings(t, "syncs", true));
  IPCB_TRY(auto sizes, strings(t, "sizes", true));
  for (const auto& z : sizes) {
    IPCB_TRY(size_t b, parse_size(z));
    s.sizes.push_back(b);
  }
  IPCB_TRY(s.verify, parse_verify(t["verify"].value_or(std::string("full"))));
  s.min_time_s = t["min_time"].value_or(0.1);
  s.repetitions = static_cast<int>(t["repetitions"].value_or(int64_t{1}));
  s.stall_ms = static_cast<uint64_t>(t["stall_ms"].value_or(int64_t{5000}));
  if (s.min_time_s <= 0 || s.repetitions < 1 || s.stall_ms < 100) {
    return plain_error("suite " + origin,
                       "min_time must be > 0, repetitions >= 1, stall_ms >= 100");
  }
  IPCB_TRY_STATUS(check_names(s.workloads, all_workloads(), "workload"));
  IPCB_TRY_STATUS(check_names(s.backends, all_backends(), "backend"));
  IPCB_TRY_STATUS(check_names(s.syncs, all_syncs(), "sync"));
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

Status apply_overrides(Suite& s, const SuiteOverrides& o) {
  if (!o.workloads.empty()) {
    IPCB_TRY_STATUS(check_names(o.workloads, all_workloads(), "workload"));
    s.workloads = o.workloads;
  }
  if (!o.backends.empty()) {
    IPCB_TRY_STATUS(check_names(o.backends, all_backends(), "backend"));
    s.backends = o.backends;
  }
  if (!o.syncs.empty()) {
    IPCB_TRY_STATUS(check_names(o.syncs, all_syncs(), "sync"));
    s.syncs = o.syncs;
  }
  if (!o.sizes.empty()) {
    s.sizes.clear();
    for (const auto& z : o.sizes) {
      IPCB_TRY(size_t b, parse_size(z));
      s.sizes.push_back(b);
    }
  }
  if (o.verify) {
    IPCB_TRY(s.verify, parse_verify(*o.verify));
  }
  if (o.repetitions) {
    if (*o.repetitions < 1) return plain_error("--repetitions", "must be at least 1");
    s.repetitions = *o.repetitions;
  }
  if (o.min_time_s) {
    if (*o.min_time_s <= 0) return plain_error("--min-time", "must be > 0");
    s.min_time_s = *o.min_time_s;
  }
  if (o.stall_ms) s.stall_ms = *o.stall_ms;
  return ok_status();
}

Result<std::vector<BenchSpec>> expand(const Suite& s, int cpu_self, int cpu_peer) {
  auto ws = is_all(s.workloads) ? all_workloads() : s.workloads;
  auto bs = is_all(s.backends) ? all_backends() : s.backends;
  bool any_sync = is_all(s.syncs);
  std::vector<BenchSpec> out;
  std::vector<std::string> used_syncs;
  for (const auto& bname : bs) {
    const BackendInfo* b = find_backend(bname);
    std::vector<std::string> syncs;
    for (const auto& sy : b->syncs()) {
      if (any_sync || std::find(s.syncs.begin(), s.syncs.end(), sy) != s.syncs.end()) {
        syncs.push_back(sy);
        used_syncs.push_back(sy);
      }
    }
    if (syncs.empty()) {
      return plain_error("sync " + join(s.syncs) + " does not fit backend '" + bname + "'",
                         "valid for " + bname + ": " + join(b->syncs()));
    }
    for (const auto& w : ws) {
      for (const auto& sy : syncs) {
        for (size_t z : s.sizes) {
          BenchSpec spec{w, bname, sy, z, s.verify, cpu_self, cpu_peer, s.stall_ms * 1000000ULL};
          out.push_back(spec);
        }
      }
    }
  }
  if (!any_sync) {
    for (const auto& sy : s.syncs) {
      if (std::find(used_syncs.begin(), used_syncs.end(), sy) == used_syncs.end()) {
        return plain_error("sync '" + sy + "' fits none of the chosen backends (" + join(bs) + ")",
                           "see `ipcbench list` for the valid combinations");
      }
    }
  }
  return out;
}

}  // namespace ipcb
