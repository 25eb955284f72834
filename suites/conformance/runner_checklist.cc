// The checklist (checklist.tsv, built into the binary) against a run's results: per mechanism,
// the applicable rows a PASS covers, those only SKIPs name, those a FAIL or BROKEN names, and
// those no test names; and any row ID a test names that the checklist does not have (a typo).
#include <map>
#include <set>
#include <sstream>

#include "suites/conformance/runner_internal.h"

namespace ipcb::runner {
namespace {

constexpr const char* kHeader = "id\tmechanism\tcall\tcondition\texpected\troot\tapplies";

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? tab : tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

double percent(size_t part, int whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / whole;
}

std::string ids(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& id : v) out += (out.empty() ? "" : " ") + id;
  return out;
}

}  // namespace

Result<std::vector<ChecklistRow>> parse_checklist(const std::string& tsv) {
  std::vector<ChecklistRow> rows;
  std::set<std::string> seen;
  std::istringstream in(tsv);
  bool header = false;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    const std::string where = "checklist.tsv line " + std::to_string(n);
    if (!header) {
      if (line != kHeader)
        return plain_error(where, "expected the header: " + std::string(kHeader));
      header = true;
      continue;
    }
    auto f = split_tabs(line);
    if (f.size() != 7) return plain_error(where, "expected 7 tab-separated fields");
    ChecklistRow r{f[0], f[1], f[2], f[3], f[4], f[5], f[6]};
    if (r.id.empty() || r.mechanism.empty()) return plain_error(where, "empty id or mechanism");
    if (!seen.insert(r.id).second) return plain_error(where, "row " + r.id + " appears twice");
    if (r.applies != "yes" && r.applies.rfind("no", 0) != 0)
      return plain_error(where, "applies must be yes or no: WHY");
    rows.push_back(std::move(r));
  }
  if (!header) return plain_error("checklist.tsv", "no header line");
  return rows;
}

Coverage compute_coverage(const std::vector<ChecklistRow>& rows,
                          const std::vector<ConformOutcome>& outcomes) {
  std::map<std::string, const ChecklistRow*> by_id;
  for (const auto& r : rows) by_id[r.id] = &r;
  std::map<std::string, std::set<std::string>> verdicts;  // row ID -> verdicts naming it
  Coverage c;
  for (const auto& o : outcomes) {
    std::istringstream named(o.rows);
    for (std::string id; named >> id;) {
      if (by_id.count(id) == 0) {
        c.unknown.push_back(o.test + ": " + id);
        continue;
      }
      verdicts[id].insert(o.verdict);
    }
  }
  std::map<std::string, size_t> index;
  for (const auto& r : rows) {
    if (index.count(r.mechanism) == 0) {
      index[r.mechanism] = c.mechanisms.size();
      c.mechanisms.emplace_back();
      c.mechanisms.back().mechanism = r.mechanism;
    }
    MechanismCoverage& m = c.mechanisms[index[r.mechanism]];
    if (!r.applicable()) continue;
    ++m.applicable;
    const auto& v = verdicts[r.id];
    if (v.count("FAIL")) {
      m.failed.push_back(r.id);
    } else if (v.count("BROKEN")) {
      m.broken.push_back(r.id);
    } else if (v.count("PASS")) {
      m.covered.push_back(r.id);
    } else if (v.count("SKIP")) {
      m.skipped.push_back(r.id);
    } else {
      m.missing.push_back(r.id);
    }
  }
  return c;
}

void print_coverage(const Coverage& c, std::FILE* to) {
  std::fprintf(to, "\nChecklist coverage (a row is covered when a PASS names it):\n");
  std::fprintf(to, "%-16s %10s %8s %8s %7s %7s %8s %9s\n", "mechanism", "applicable", "covered",
               "skipped", "failed", "broken", "missing", "coverage");
  MechanismCoverage total;
  total.mechanism = "total";
  auto line = [&](const MechanismCoverage& m) {
    std::fprintf(to, "%-16s %10d %8zu %8zu %7zu %7zu %8zu %8.1f%%\n", m.mechanism.c_str(),
                 m.applicable, m.covered.size(), m.skipped.size(), m.failed.size(), m.broken.size(),
                 m.missing.size(), percent(m.covered.size(), m.applicable));
  };
  for (const auto& m : c.mechanisms) {
    line(m);
    total.applicable += m.applicable;
    for (auto [from, into] : {std::pair{&m.covered, &total.covered},
                              {&m.skipped, &total.skipped},
                              {&m.failed, &total.failed},
                              {&m.broken, &total.broken},
                              {&m.missing, &total.missing}}) {
      into->insert(into->end(), from->begin(), from->end());
    }
  }
  line(total);
  for (const auto& m : c.mechanisms) {
    for (auto [what, v] : {std::pair{"missing", &m.missing},
                           {"skipped", &m.skipped},
                           {"failed", &m.failed},
                           {"broken", &m.broken}}) {
      if (!v->empty())
        std::fprintf(to, "  %s %s: %s\n", m.mechanism.c_str(), what, ids(*v).c_str());
    }
  }
  if (!c.unknown.empty()) {
    std::fprintf(to, "\nerror: tests name %zu row IDs the checklist does not have:\n",
                 c.unknown.size());
    for (const auto& u : c.unknown) std::fprintf(to, "  %s\n", u.c_str());
  }
}

nlohmann::json coverage_json(const Coverage& c) {
  nlohmann::json mechs = nlohmann::json::object();
  int applicable = 0;
  size_t covered = 0, skipped = 0, failed = 0, broken = 0, missing = 0;
  for (const auto& m : c.mechanisms) {
    mechs[m.mechanism] = {{"applicable", m.applicable},
                          {"covered", m.covered},
                          {"skipped", m.skipped},
                          {"failed", m.failed},
                          {"broken", m.broken},
                          {"missing", m.missing},
                          {"coverage_percent", percent(m.covered.size(), m.applicable)}};
    applicable += m.applicable;
    covered += m.covered.size();
    skipped += m.skipped.size();
    failed += m.failed.size();
    broken += m.broken.size();
    missing += m.missing.size();
  }
  return {{"applicable", applicable},
          {"covered", covered},
          {"skipped", skipped},
          {"failed", failed},
          {"broken", broken},
          {"missing", missing},
          {"coverage_percent", percent(covered, applicable)},
          {"covered_or_skipped_percent", percent(covered + skipped, applicable)},
          {"mechanisms", mechs},
          {"unknown_rows", c.unknown}};
}

}  // namespace ipcb::runner
