// Which tests a run selects and how they are named: the --gtest_* flags checked against the
// list GoogleTest 1.12 knows (it ignores unknown ones silently), GoogleTest's filter syntax, and
// the mechanism a test's suite stands for.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>

#include "suites/arg_vector.h"
#include "suites/conformance/runner_internal.h"

namespace ipcb::runner {
namespace {

enum class FlagType { kBool, kInt, kString };

// GoogleTest 1.12.1's flags (gtest.cc, GTEST_DEFINE_*), and whether the test processes get them.
struct KnownFlag {
  FlagType type;
  bool passthrough;     // given to GoogleTest in the test processes
  const char* refused;  // non-null: not accepted here, and why
};
const std::map<std::string, KnownFlag>& known_flags() {
  static const std::map<std::string, KnownFlag> k = {
      {"also_run_disabled_tests", {FlagType::kBool, false, nullptr}},
      {"break_on_failure", {FlagType::kBool, true, nullptr}},
      {"brief", {FlagType::kBool, true, nullptr}},
      {"catch_exceptions", {FlagType::kBool, true, nullptr}},
      {"color", {FlagType::kString, true, nullptr}},
      {"death_test_style", {FlagType::kString, true, nullptr}},
      {"death_test_use_fork", {FlagType::kBool, true, nullptr}},
      {"fail_fast", {FlagType::kBool, false, nullptr}},
      {"filter", {FlagType::kString, false, nullptr}},
      {"install_failure_signal_handler", {FlagType::kBool, true, nullptr}},
      {"list_tests", {FlagType::kBool, false, nullptr}},
      {"output", {FlagType::kString, false, nullptr}},
      {"print_time", {FlagType::kBool, true, nullptr}},
      {"print_utf8", {FlagType::kBool, true, nullptr}},
      {"random_seed", {FlagType::kInt, false, nullptr}},
      {"recreate_environments_when_repeating", {FlagType::kBool, true, nullptr}},
      {"repeat", {FlagType::kInt, false, nullptr}},
      {"show_internal_stack_frames", {FlagType::kBool, true, nullptr}},
      {"shuffle", {FlagType::kBool, false, nullptr}},
      {"stack_trace_depth", {FlagType::kInt, true, nullptr}},
      {"throw_on_failure", {FlagType::kBool, true, nullptr}},
      {"flagfile", {FlagType::kString, false, "not supported here: give the flags themselves"}},
      {"stream_result_to",
       {FlagType::kString, false, "not supported here: use conformance.json or --gtest_output"}},
      {"internal_run_death_test", {FlagType::kString, false, "internal to GoogleTest"}},
      {"help", {FlagType::kBool, false, "see `ipcbench conform --help`"}},
  };
  return k;
}

bool parse_bool(const std::string& v, bool* out) {
  std::string l = v;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l.empty() || l == "1" || l == "t" || l == "true") return *out = true, true;
  if (l == "0" || l == "f" || l == "false") return *out = false, true;
  return false;
}

bool parse_int(const std::string& v, int* out) {
  if (v.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || n < -2147483647L || n > 2147483647L) return false;
  *out = static_cast<int>(n);
  return true;
}

// --gtest_output=xml, xml:FILE or xml:DIR/ (GoogleTest's forms), as our JUnit file's path.
Result<std::string> junit_path(const std::string& v) {
  if (v == "xml") return std::string("test_detail.xml");
  if (v.rfind("xml:", 0) == 0 && v.size() > 4) {
    std::string p = v.substr(4);
    return p.back() == '/' ? p + "conformance.xml" : p;
  }
  return plain_error("--gtest_output=" + v,
                     "only xml, xml:FILE and xml:DIR/ are written here (the JSON results are in "
                     "conformance.json)");
}

// '*' matches any text, '?' one character.
bool glob(const char* p, const char* s) {
  const char *star = nullptr, *resume = nullptr;
  while (*s != '\0') {
    if (*p == '*') {
      star = p++, resume = s;
    } else if (*p == '?' || *p == *s) {
      ++p, ++s;
    } else if (star != nullptr) {
      p = star + 1, s = ++resume;
    } else {
      return false;
    }
  }
  while (*p == '*') ++p;
  return *p == '\0';
}

bool any_pattern(const std::string& patterns, const std::string& name) {
  size_t start = 0;
  for (;;) {
    size_t colon = patterns.find(':', start);
    std::string p = patterns.substr(start, colon == std::string::npos ? colon : colon - start);
    if (glob(p.c_str(), name.c_str())) return true;
    if (colon == std::string::npos) return false;
    start = colon + 1;
  }
}

std::string snake(const std::string& camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(camel[i]);
    if (std::isupper(c) && i > 0) out += '_';
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

}  // namespace

Result<GtestFlags> parse_gtest_flags(const std::vector<std::string>& flags) {
  GtestFlags f;
  for (const std::string& arg : flags) {
    if (arg.rfind("--gtest_", 0) != 0) return plain_error(arg, "not a --gtest_* flag");
    std::string body = arg.substr(8);
    auto eq = body.find('=');
    std::string name = body.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : body.substr(eq + 1);
    auto it = known_flags().find(name);
    if (it == known_flags().end())
      return plain_error(arg, "GoogleTest has no flag --gtest_" + name + " (a typo?)");
    const KnownFlag& k = it->second;
    if (k.refused != nullptr) return plain_error(arg, k.refused);
    bool b = false;
    int n = 0;
    if (k.type == FlagType::kBool && !parse_bool(value, &b))
      return plain_error(arg, "expects no value, or 0/1/true/false");
    if (k.type == FlagType::kInt && !parse_int(value, &n))
      return plain_error(arg, "expects an integer");
    if (k.type == FlagType::kString && eq == std::string::npos)
      return plain_error(arg, "expects --gtest_" + name + "=VALUE");
    if (name == "filter") f.filter = value;
    if (name == "list_tests") f.list_tests = b;
    if (name == "also_run_disabled_tests") f.also_run_disabled = b;
    if (name == "shuffle") f.shuffle = b;
    if (name == "fail_fast") f.fail_fast = b;
    if (name == "random_seed") {
      if (n < 0 || n > 99999) return plain_error(arg, "expects 0 to 99999");
      f.random_seed = n;
    }
    if (name == "repeat") {
      if (n < 1) return plain_error(arg, "expects a count of 1 or more");
      f.repeat = n;
    }
    if (name == "output") {
      IPCB_TRY(f.junit, junit_path(value));
    }
    if (k.passthrough) f.passthrough.push_back(arg);
  }
  return f;
}

bool filter_matches(const std::string& filter, const std::string& full_name) {
  auto dash = filter.find('-');
  if (dash == std::string::npos) return any_pattern(filter, full_name);
  // An empty positive part means every test (GoogleTest's rule when there is a negative part).
  bool positive = dash == 0 || any_pattern(filter.substr(0, dash), full_name);
  return positive && !any_pattern(filter.substr(dash + 1), full_name);
}

std::string mechanism_of_suite(const std::string& suite) {
  static const char* kKnown[] = {"unix_seqpacket", "tcp_loopback", "unix_stream", "sysv_shm",
                                 "sysv_msg",       "sysv_sem",     "posix_shm",   "posix_mq",
                                 "posix_sem",      "mmap_file",    "eventfd",     "pthread",
                                 "futex",          "memfd",        "pipe",        "fifo",
                                 "ftok",           "unix",         "tcp"};
  const std::string s = snake(suite);
  for (const char* k : kKnown) {
    std::string m = k;
    if (s == m || s.rfind(m + "_", 0) == 0) return m;
  }
  return s;
}

TestNames names_of(const std::string& suite, const std::string& name, bool parameterised) {
  TestNames n;
  n.full = suite + "." + name;
  if (parameterised) {
    auto slash = name.rfind('/');
    n.mechanism = slash == std::string::npos ? "?" : name.substr(slash + 1);
    n.behaviour = suite.substr(suite.find('/') + 1) + "." + name.substr(0, slash);
  } else {
    n.mechanism = mechanism_of_suite(suite);
    n.behaviour = name;
  }
  return n;
}

void init_gtest(const std::vector<std::string>& passthrough) {
  static bool done = false;
  if (done) return;
  done = true;
  ArgVector args("ipcbench conform", passthrough);
  ::testing::InitGoogleTest(&args.argc, args.argv());
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  delete listeners.Release(listeners.default_result_printer());
  delete listeners.Release(listeners.default_xml_generator());
}

std::vector<const ::testing::TestInfo*> select_tests(const std::string& filter,
                                                     bool also_run_disabled) {
  std::vector<const ::testing::TestInfo*> out;
  const ::testing::UnitTest& u = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < u.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& s = *u.GetTestSuite(i);
    for (int j = 0; j < s.total_test_count(); ++j) {
      const ::testing::TestInfo* t = s.GetTestInfo(j);
      const std::string full = std::string(t->test_suite_name()) + "." + t->name();
      bool disabled = filter_matches("DISABLED_*:*/DISABLED_*", t->test_suite_name()) ||
                      filter_matches("DISABLED_*:*/DISABLED_*", t->name());
      if ((!disabled || also_run_disabled) && filter_matches(filter, full)) out.push_back(t);
    }
  }
  return out;
}

void print_test_list(const std::vector<const ::testing::TestInfo*>& tests) {
  std::string suite;
  for (const ::testing::TestInfo* t : tests) {
    if (suite != t->test_suite_name()) {
      suite = t->test_suite_name();
      std::printf("%s.\n", suite.c_str());
    }
    if (t->value_param() != nullptr) {
      std::printf("  %s  # GetParam() = %s\n", t->name(), t->value_param());
    } else {
      std::printf("  %s\n", t->name());
    }
  }
}

}  // namespace ipcb::runner
