// The runner's writers, which never run a test: the mechanism x behaviour table, one result as
// JSON (and back, for --from), JUnit XML, and the atomic file write they share.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "suites/conformance/runner_internal.h"

namespace ipcb::runner {
namespace {

constexpr const char* kVerdicts[] = {"PASS", "FAIL", "SKIP", "BROKEN"};

std::string shorten(const std::string& s, size_t max) {
  return s.size() > max ? s.substr(0, max) + "..." : s;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 has no control characters but tab, newline and carriage return.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& lines, const char* sep) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : sep) + l;
  return out;
}

}  // namespace

std::string verdict_counts_line(const std::vector<ConformOutcome>& outcomes) {
  std::map<std::string, int> n;
  for (const auto& o : outcomes) ++n[o.verdict];
  std::string line = std::to_string(outcomes.size()) + " behaviours:";
  for (const char* v : kVerdicts)
    line += std::string(v == kVerdicts[0] ? " " : ", ") + std::to_string(n[v]) + " " + v;
  return line;
}

void print_table(const std::vector<ConformOutcome>& outcomes, std::FILE* to) {
  std::map<std::string, std::vector<const ConformOutcome*>> by_mechanism;
  for (const auto& o : outcomes) by_mechanism[o.mechanism].push_back(&o);
  std::fprintf(to, "%-16s %-58s %s\n", "mechanism", "behaviour", "result");
  for (const auto& [mech, list] : by_mechanism) {
    for (const ConformOutcome* o : list) {
      std::string result = o->verdict;
      if (o->verdict != "PASS") result += " (" + shorten(o->reason, 240) + ")";
      std::fprintf(to, "%-16s %-58s %s\n", mech.c_str(), o->behaviour.c_str(), result.c_str());
    }
  }
}

nlohmann::json outcome_json(const ConformOutcome& o) {
  return {
      {"test", o.test},
      {"mechanism", o.mechanism},
      {"behaviour", o.behaviour},
      {"man", o.man},
      {"rows", o.rows},
      {"verdict", o.verdict},
      {"result", o.verdict},  // the name schema version 1 used
      {"reason", o.reason},
      {"precondition", o.precondition.empty() ? nlohmann::json() : nlohmann::json(o.precondition)},
      {"failures", o.failures},
      {"seconds", o.seconds}};
}

ConformOutcome outcome_from_json(const nlohmann::json& j) {
  ConformOutcome o;
  auto text = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  o.test = text("test");
  o.mechanism = text("mechanism");
  o.behaviour = text("behaviour");
  o.man = text("man");
  o.rows = text("rows");
  o.verdict = text("verdict");
  if (o.verdict.empty()) o.verdict = text("result");
  o.reason = text("reason");
  o.precondition = text("precondition");
  if (auto f = j.find("failures"); f != j.end() && f->is_array()) {
    for (const auto& line : *f) {
      if (line.is_string()) o.failures.push_back(line.get<std::string>());
    }
  }
  if (auto s = j.find("seconds"); s != j.end() && s->is_number()) o.seconds = s->get<double>();
  return o;
}

std::string junit_xml(const std::vector<ConformOutcome>& outcomes) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const ConformOutcome*>> suites;
  std::map<std::string, int> total;
  double seconds = 0;
  for (const auto& o : outcomes) {
    std::string suite = o.test.substr(0, o.test.find('.'));
    if (suites.find(suite) == suites.end()) order.push_back(suite);
    suites[suite].push_back(&o);
    ++total[o.verdict];
    seconds += o.seconds;
  }
  auto counts = [](int tests, int failures, int errors, int skipped, double time) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\"", tests,
                  failures, errors, skipped, time);
    return std::string(buf);
  };
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites " +
                  counts(static_cast<int>(outcomes.size()), total["FAIL"], total["BROKEN"],
                         total["SKIP"], seconds) +
                  " name=\"ipcbench conform\">\n";
  for (const auto& suite : order) {
    std::map<std::string, int> n;
    double t = 0;
    for (const ConformOutcome* o : suites[suite]) ++n[o->verdict], t += o->seconds;
    x += "  <testsuite name=\"" + xml_escape(suite) + "\" " +
         counts(static_cast<int>(suites[suite].size()), n["FAIL"], n["BROKEN"], n["SKIP"], t) +
         ">\n";
    for (const ConformOutcome* o : suites[suite]) {
      char time[32];
      std::snprintf(time, sizeof time, "%.3f", o->seconds);
      x += "    <testcase name=\"" + xml_escape(o->test.substr(suite.size() + 1)) +
           "\" classname=\"" + xml_escape(suite) + "\" time=\"" + time + "\"";
      if (o->verdict == "PASS") {
        x += "/>\n";
        continue;
      }
      x += ">\n";
      const std::string msg = xml_escape(o->reason);
      if (o->verdict == "SKIP") x += "      <skipped message=\"" + msg + "\"/>\n";
      if (o->verdict == "FAIL" || o->verdict == "BROKEN") {
        const char* tag = o->verdict == "FAIL" ? "failure" : "error";
        std::string body = o->verdict == "BROKEN" ? "BROKEN: " + o->reason + "\n" : "";
        body += join(o->failures, "\n");
        x += std::string("      <") + tag + " message=\"" + msg + "\" type=\"" + o->verdict +
             "\">" + xml_escape(body) + "</" + tag + ">\n";
      }
      x += "    </testcase>\n";
    }
    x += "  </testsuite>\n";
  }
  return x + "</testsuites>\n";
}

Status write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("open", tmp);
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error e = errno_error("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return errno_error("close", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("rename", tmp + " -> " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return ok_status();
}

}  // namespace ipcb::runner
