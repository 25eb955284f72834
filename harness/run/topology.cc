// The sysfs topology reader (see topology.h). Platform facts about CPUs are read here.
#include "harness/run/topology.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

namespace ipcb {
namespace {
namespace fs = std::filesystem;

// The first line of a small sysfs file, trimmed; nullopt when it cannot be read.
std::optional<std::string> line_of(const fs::path& p) {
  std::ifstream f(p);
  std::string s;
  if (!f || !std::getline(f, s)) return std::nullopt;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

int int_of(const fs::path& p) {
  auto s = line_of(p);
  if (!s || s->empty()) return -1;
  char* end = nullptr;
  long v = std::strtol(s->c_str(), &end, 10);
  return *end == '\0' && v >= 0 && v < (1 << 30) ? static_cast<int>(v) : -1;
}

// A list file: nullopt when absent, an error when it is not a CPU list.
Result<std::optional<std::vector<int>>> list_of(const fs::path& p) {
  auto s = line_of(p);
  if (!s) return std::optional<std::vector<int>>();
  auto v = parse_cpu_list(*s);
  if (!v) return plain_error(p.string(), v.error().detail);
  return std::optional<std::vector<int>>(std::move(*v));
}

// The numbers N of the entries PREFIXN in `dir`, ascending.
std::vector<int> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.size() <= prefix.size() || n.compare(0, prefix.size(), prefix) != 0) continue;
    std::string digits = n.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), ::isdigit) || digits.size() > 6) continue;
    out.push_back(std::stoi(digits));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The last-level cache of one CPU: the highest level among its data and unified caches.
Result<std::optional<CacheDomain>> llc_of(const fs::path& cpu_dir) {
  std::optional<CacheDomain> best;
  for (int i : numbered(cpu_dir / "cache", "index")) {
    fs::path idx = cpu_dir / "cache" / ("index" + std::to_string(i));
    auto type = line_of(idx / "type");
    int level = int_of(idx / "level");
    if (!type || *type == "Instruction" || level < 0) continue;
    IPCB_TRY(auto shared, list_of(idx / "shared_cpu_list"));
    if (!shared || shared->empty()) continue;
    if (!best || level > best->level) best = CacheDomain{level, *shared};
  }
  return best;
}

Status read_cpu(const fs::path& base, int n, const std::vector<int>& online, bool online_known,
                Topology& t) {
  fs::path dir = base / ("cpu" + std::to_string(n));
  CpuTopo c;
  c.cpu = n;
  int flag = int_of(dir / "online");  // cpu0 often has none: the online list decides
  c.online = online_known ? std::count(online.begin(), online.end(), n) != 0 : flag != 0;
  if (flag == 0) c.online = false;
  c.package = int_of(dir / "topology" / "physical_package_id");
  c.die = int_of(dir / "topology" / "die_id");
  c.core = int_of(dir / "topology" / "core_id");
  IPCB_TRY(auto sib, list_of(dir / "topology" / "thread_siblings_list"));
  if (!sib) {
    IPCB_TRY(sib, list_of(dir / "topology" / "core_cpus_list"));
  }
  if (sib) c.siblings = *sib;
  IPCB_TRY(auto llc, llc_of(dir));
  if (llc) {
    auto same = [&](const CacheDomain& d) { return d.level == llc->level && d.cpus == llc->cpus; };
    auto it = std::find_if(t.llcs.begin(), t.llcs.end(), same);
    c.llc = static_cast<int>(it - t.llcs.begin());
    if (it == t.llcs.end()) t.llcs.push_back(*llc);
  }
  t.cpus.push_back(std::move(c));
  return ok_status();
}

}  // namespace

Result<std::vector<int>> parse_cpu_list(const std::string& text) {
  std::set<int> out;
  size_t i = 0;
  auto number = [&](int& v) {
    size_t start = i;
    long long x = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i - start < 7) {
      x = x * 10 + (text[i++] - '0');
    }
    v = static_cast<int>(x);
    return i > start && (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i])));
  };
  auto bad = [&] { return plain_error("CPU list '" + text + "'", "expected e.g. 0-3,8,10-11"); };
  while (i < text.size()) {
    int a = 0, b = 0;
    if (!number(a)) return bad();
    b = a;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(b) || b < a || b - a > 65536) return bad();
    }
    for (int c = a; c <= b; ++c) out.insert(c);
    if (i < text.size()) {
      if (text[i] != ',' || i + 1 == text.size()) return bad();
      ++i;
    }
  }
  return std::vector<int>(out.begin(), out.end());
}

std::string cpu_list_text(const std::vector<int>& cpus) {
  std::vector<int> v = cpus;
  std::sort(v.begin(), v.end());
  std::string s;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!s.empty()) s.push_back(',');
    s.append(std::to_string(v[i]));
    if (j > i) {
      s.push_back('-');
      s.append(std::to_string(v[j]));
    }
    i = j + 1;
  }
  return s;
}

Result<Topology> read_topology(const std::string& root) {
  Topology t;
  t.root = root;
  const fs::path base = fs::path(root) / "sys/devices/system/cpu";
  std::vector<int> ns = numbered(base, "cpu");
  if (ns.empty()) {
    return plain_error("topology", "no cpuN directory in " + base.string());
  }
  IPCB_TRY(auto online, list_of(base / "online"));
  for (int n : ns)
    IPCB_TRY_STATUS(read_cpu(base, n, online.value_or(std::vector<int>()), online.has_value(), t));
  for (const auto& c : t.cpus) {
    if (c.online) t.online.push_back(c.cpu);
  }
  const fs::path nodes = fs::path(root) / "sys/devices/system/node";
  for (int node : numbered(nodes, "node")) {
    IPCB_TRY(auto cpus, list_of(nodes / ("node" + std::to_string(node)) / "cpulist"));
    if (!cpus) continue;
    t.nodes.push_back(node);
    for (auto& c : t.cpus) {
      if (std::count(cpus->begin(), cpus->end(), c.cpu)) c.node = node;
    }
  }
  t.smt_active = line_of(base / "smt/active").value_or("");
  t.smt_control = line_of(base / "smt/control").value_or("");
  std::ifstream status(fs::path(root) / "proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Cpus_allowed_list:", 0) != 0) continue;
    std::string v = line.substr(line.find(':') + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    IPCB_TRY(t.allowed, parse_cpu_list(v));
  }
  if (t.allowed.empty()) t.allowed = t.online;  // no status file: as if every CPU were allowed
  return t;
}

std::vector<int> Topology::usable() const {
  std::vector<int> out;
  for (int c : online) {
    if (std::count(allowed.begin(), allowed.end(), c)) out.push_back(c);
  }
  return out;
}

const CpuTopo* Topology::cpu(int n) const {
  for (const auto& c : cpus) {
    if (c.cpu == n) return &c;
  }
  return nullptr;
}

std::string Topology::summary() const {
  std::set<int> packages;
  std::set<std::tuple<int, int, int>> cores;
  size_t max_threads = 0;
  for (const auto& c : cpus) {
    if (!c.online) continue;
    if (c.package >= 0) packages.insert(c.package);
    if (c.core >= 0) cores.insert({c.package, c.die, c.core});
    max_threads = std::max(max_threads, c.siblings.size());
  }
  auto count = [](size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::string llc = llcs.empty() ? "LLC unknown"
                                 : count(llcs.size(), "LLC", "LLCs") + " (L" +
                                       std::to_string(llcs.front().level) + ")";
  return count(packages.size(), "package", "packages") + ", " +
         (nodes.empty() ? std::string("NUMA unknown")
                        : count(nodes.size(), "NUMA node", "NUMA nodes")) +
         ", " + llc + ", " + count(cores.size(), "core", "cores") + " x " +
         count(max_threads, "thread", "threads") + ", " +
         count(online.size(), "online CPU", "online CPUs") + "; usable " + cpu_list_text(usable());
}

nlohmann::json Topology::to_json() const {
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : cpus) {
    nlohmann::json j = {{"cpu", c.cpu}, {"online", c.online}};
    if (c.package >= 0) j["package"] = c.package;
    if (c.die >= 0) j["die"] = c.die;
    if (c.core >= 0) j["core"] = c.core;
    if (!c.siblings.empty()) j["smt_siblings"] = cpu_list_text(c.siblings);
    if (c.llc >= 0) j["llc"] = c.llc;
    if (c.node >= 0) j["node"] = c.node;
    cs.push_back(j);
  }
  nlohmann::json l = nlohmann::json::array();
  for (const auto& d : llcs) l.push_back({{"level", d.level}, {"cpus", cpu_list_text(d.cpus)}});
  return {{"root", root},
          {"summary", summary()},
          {"online", cpu_list_text(online)},
          {"allowed", cpu_list_text(allowed)},
          {"usable", cpu_list_text(usable())},
          {"numa_nodes", nodes},
          {"llcs", l},
          {"smt_active", smt_active},
          {"smt_control", smt_control},
          {"cpus", cs}};
}

}  // namespace ipcb
