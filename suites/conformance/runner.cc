// The conformance runner (see runner.h). Test naming gives the table its rows: a test of suite
// `SysvShm` checks mechanism sysv_shm; a shared behaviour instantiated per mechanism
// (`Shared/ExclusiveCreate.FailsWithEexist/posix_mq`) names the mechanism as its parameter.
#include "suites/conformance/runner.h"

#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "suites/conformance/conform.h"

namespace ipcb {
namespace {

struct Outcome {
  std::string mechanism, behaviour, test, man, rows;
  std::string result;  // PASS, FAIL, SKIP
  std::string reason;  // skip reason or first failure
  double seconds = 0;
};

// "SysvShm" -> "sysv_shm"
std::string snake(const std::string& camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    char c = camel[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (i > 0) out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

std::string first_line(const std::string& s) {
  std::string t = s.substr(0, s.find('\n'));
  return t.size() > 200 ? t.substr(0, 200) + "..." : t;
}

class Collector : public ::testing::EmptyTestEventListener {
 public:
  std::vector<Outcome> outcomes;

  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.skipped()) {
      if (reason_.empty()) reason_ = first_line(r.message());
    } else if (r.failed()) {
      if (failure_.empty()) {
        failure_ = std::string(r.file_name() ? r.file_name() : "?") + ":" +
                   std::to_string(r.line_number()) + ": " + first_line(r.message());
      }
      std::fprintf(stderr, "%s:%d: %s\n", r.file_name() ? r.file_name() : "?", r.line_number(),
                   r.message());
    }
  }

  void OnTestStart(const ::testing::TestInfo&) override {
    reason_.clear();
    failure_.clear();
  }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    Outcome o;
    std::string suite = info.test_suite_name();
    std::string name = info.name();
    o.test = suite + "." + name;
    if (info.value_param() != nullptr) {
      // Prefix/Behaviour.Case/mechanism
      auto slash = name.rfind('/');
      o.mechanism = slash == std::string::npos ? "?" : name.substr(slash + 1);
      std::string group = suite.substr(suite.find('/') + 1);
      o.behaviour = group + "." + name.substr(0, slash);
    } else {
      o.mechanism = snake(suite);
      o.behaviour = name;
    }
    const ::testing::TestResult* r = info.result();
    for (int i = 0; i < r->test_property_count(); ++i) {
      const std::string key = r->GetTestProperty(i).key();
      if (key == "man") o.man = r->GetTestProperty(i).value();
      if (key == "rows")
        o.rows += (o.rows.empty() ? "" : " ") + std::string(r->GetTestProperty(i).value());
    }
    if (r->Failed()) {
      o.result = "FAIL";
      o.reason = failure_;
    } else if (r->Skipped()) {
      o.result = "SKIP";
      o.reason = reason_.empty() ? "skipped without a reason" : reason_;
    } else {
      o.result = "PASS";
    }
    o.seconds = static_cast<double>(r->elapsed_time()) / 1000.0;
    outcomes.push_back(o);
  }

 private:
  std::string reason_, failure_;
};

}  // namespace

int run_conformance(const std::vector<std::string>& args) {
  std::string out = ".";
  std::vector<std::string> gtest_args = {"ipcbench conform"};
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--out" && i + 1 < args.size()) {
      out = args[++i];
    } else if (args[i].rfind("--out=", 0) == 0) {
      out = args[i].substr(6);
    } else if (args[i].rfind("--gtest_", 0) == 0) {
      gtest_args.push_back(args[i]);
    } else {
      std::fprintf(stderr, "ipcbench conform: unknown option '%s' (--out DIR, --gtest_*)\n",
                   args[i].c_str());
      return 2;
    }
  }
  std::vector<char*> argv;
  for (auto& a : gtest_args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);
  ::testing::InitGoogleTest(&argc, argv.data());
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  delete listeners.Release(listeners.default_result_printer());  // the table replaces it
  auto* collector = new Collector;
  listeners.Append(collector);  // owned by GoogleTest from here
  int rc = RUN_ALL_TESTS();

  std::map<std::string, std::vector<const Outcome*>> by_mechanism;
  for (const auto& o : collector->outcomes) by_mechanism[o.mechanism].push_back(&o);
  std::map<std::string, int> counts;
  std::printf("%-16s %-58s %s\n", "mechanism", "behaviour", "result");
  for (const auto& [mech, list] : by_mechanism) {
    for (const Outcome* o : list) {
      std::string result = o->result;
      if (o->result != "PASS") result += " (" + o->reason + ")";
      std::printf("%-16s %-58s %s\n", mech.c_str(), o->behaviour.c_str(), result.c_str());
      ++counts[o->result];
    }
  }
  std::printf("\n%d behaviours: %d PASS, %d FAIL, %d SKIP (uid %d)\n",
              static_cast<int>(collector->outcomes.size()), counts["PASS"], counts["FAIL"],
              counts["SKIP"], static_cast<int>(::geteuid()));

  utsname u{};
  ::uname(&u);
  nlohmann::json j;
  j["kernel"] = std::string(u.sysname) + " " + u.release;
  j["uid"] = ::geteuid();
  j["root"] = conform::is_root();
  j["counts"] = counts;
  j["results"] = nlohmann::json::array();
  for (const auto& o : collector->outcomes) {
    j["results"].push_back({{"mechanism", o.mechanism},
                            {"behaviour", o.behaviour},
                            {"test", o.test},
                            {"man", o.man},
                            {"rows", o.rows},
                            {"result", o.result},
                            {"reason", o.reason},
                            {"seconds", o.seconds}});
  }
  std::string path = out + "/conformance.json";
  std::ofstream f(path);
  if (!(f << j.dump(2) << "\n")) {
    std::fprintf(stderr, "ipcbench conform: cannot write %s\n", path.c_str());
    return 2;
  }
  std::printf("wrote %s\n", path.c_str());
  return rc == 0 && counts["FAIL"] == 0 ? 0 : 1;
}

}  // namespace ipcb
