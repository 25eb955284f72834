// One forked process per test: the test runs alone in its own process group (GoogleTest with a
// filter naming it), reports each failure and its end through a pipe as it happens, and is
// killed with its whole group when it outlives the deadline. A crash or a hang is that test's
// FAIL, never the run's end. A SIGINT, SIGTERM, SIGHUP or SIGQUIT to the runner stops the run in
// order: the running test removes its objects and restores its sysctls (its manifest handlers)
// before the runner dies of the signal.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "harness/sys/manifest.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/runner_internal.h"

namespace ipcb::runner {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr int kParentGone = 121;  // the test's process found the runner gone before it began

void write_all(int fd, const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the runner is gone: nothing to report to
    done += static_cast<size_t>(n);
  }
}

// In the test's process: every part result as it happens (a later crash loses none of them),
// then the end with the test's properties; one JSON object per line. A process the test forks
// inherits the listener but reports nothing: as in a single process, the test judges its
// children by what they return.
class PipeReporter : public ::testing::EmptyTestEventListener {
 public:
  explicit PipeReporter(int fd) : fd_(fd), pid_(::getpid()) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (::getpid() != pid_) return;
    send({{"t", "part"},
          {"skipped", r.skipped()},
          {"failed", r.failed()},
          {"file", r.file_name() ? r.file_name() : ""},
          {"line", r.line_number()},
          {"message", r.message()}});
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (::getpid() != pid_) return;
    const ::testing::TestResult* r = info.result();
    nlohmann::json props = nlohmann::json::object();
    for (int i = 0; i < r->test_property_count(); ++i)
      props[r->GetTestProperty(i).key()] = r->GetTestProperty(i).value();
    send({{"t", "end"},
          {"result", r->Failed()    ? "FAIL"
                     : r->Skipped() ? "SKIP"
                                    : "PASS"},
          {"props", props}});
  }

 private:
  void send(const nlohmann::json& j) {
    write_all(fd_, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }
  int fd_;
  pid_t pid_;
};

[[noreturn]] void child_main(const std::string& full_name, int report_fd, pid_t runner,
                             const sigset_t& mask, int sigfd) {
  ::setpgid(0, 0);  // its own group: the watchdog kills the test with every process it forked
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the runner killed (even SIGKILL): clean up and go
  if (::getppid() != runner) ::_exit(kParentGone);
  if (sigfd >= 0) ::close(sigfd);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, STDIN_FILENO);
  manifest::adopt_after_fork(/*kill_group=*/true);
  ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  // Out of the way of a test that opens, closes or dup2()s low descriptors by number.
  int high = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 512);
  if (high >= 0) ::close(report_fd);
  ::testing::UnitTest::GetInstance()->listeners().Append(
      new PipeReporter(high >= 0 ? high : report_fd));
  GTEST_FLAG_SET(filter, full_name);
  GTEST_FLAG_SET(also_run_disabled_tests, true);  // the runner chose it: run it
  GTEST_FLAG_SET(repeat, 1);
  GTEST_FLAG_SET(shuffle, false);
  GTEST_FLAG_SET(list_tests, false);
  GTEST_FLAG_SET(fail_fast, false);
  GTEST_FLAG_SET(output, "");
  // The verdict travels through the pipe; the status says only that the process got this far.
  int rc = RUN_ALL_TESTS();
  std::fflush(nullptr);
  ::_exit(rc == 0 || rc == 1 ? 0 : 2);
}

// What the runner hears from one test's process.
struct Heard {
  std::string pending;  // an incomplete line
  bool ended = false;
  std::string result;
  nlohmann::json props = nlohmann::json::object();
  std::vector<std::string> failures;
  std::string skip_reason;
};

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

void hear_line(const std::string& line, Heard& h, const std::string& test, bool print) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  if (j.value("t", "") == "end") {
    h.ended = true;
    h.result = j.value("result", "FAIL");
    h.props = j.value("props", nlohmann::json::object());
    return;
  }
  std::string msg = j.value("message", "");
  if (j.value("skipped", false)) {
    if (h.skip_reason.empty()) h.skip_reason = first_line(msg);
  } else if (j.value("failed", false)) {
    std::string file = j.value("file", "?");
    while (file.rfind("../", 0) == 0) file.erase(0, 3);  // the build's relative source paths
    std::string where = file + ":" + std::to_string(j.value("line", 0));
    h.failures.push_back(where + ": " + msg);
    if (print) std::fprintf(stderr, "[%s] %s: %s\n", test.c_str(), where.c_str(), msg.c_str());
  }
}

// Reads what is there now; false at end of file.
bool drain(int fd, Heard& h, const std::string& test, bool print) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 && errno == EAGAIN;
    h.pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = h.pending.find('\n')) != std::string::npos;) {
      hear_line(h.pending.substr(0, nl), h, test, print);
      h.pending.erase(0, nl + 1);
    }
  }
}

// Whether `pid` has ended, without reaping it (its group id stays reserved until we do).
bool has_exited(pid_t pid, int pidfd) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
  siginfo_t si{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         si.si_pid == pid;
}

void wait_exit(pid_t pid, int pidfd, int ms) {
  auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (!has_exited(pid, pidfd) && Clock::now() < until) ::usleep(1000);
}

std::string describe_end(int status) {
  if (WIFSIGNALED(status)) {
    int s = WTERMSIG(status);
    return "crashed: killed by signal " + std::to_string(s) + " (" + ::strsignal(s) + ")";
  }
  return "the test's process exited with status " + std::to_string(WEXITSTATUS(status)) +
         " before the test ended";
}

std::string prop(const nlohmann::json& props, const char* key) {
  auto it = props.find(key);
  return it != props.end() && it->is_string() ? it->get<std::string>() : "";
}

// The verdict from what was heard and how the process ended.
void judge(ConformOutcome& o, const Heard& h, int status, bool timed_out, double timeout_s,
           const std::vector<Precondition>& pre) {
  o.failures = h.failures;
  o.man = prop(h.props, conform::kPropMan);
  o.rows = prop(h.props, conform::kPropRows);
  const std::string broken = prop(h.props, conform::kPropBroken);
  char timeout[64];
  std::snprintf(timeout, sizeof timeout, "timed out after %g s", timeout_s);
  if (timed_out || !h.ended) {
    o.verdict = "FAIL";
    o.reason = timed_out ? timeout : describe_end(status);
    o.failures.push_back(o.reason);
  } else if (h.result == "FAIL") {
    o.verdict = broken.empty() ? "FAIL" : "BROKEN";
    o.reason = !broken.empty()      ? broken
               : h.failures.empty() ? "failed"
                                    : first_line(h.failures.front());
  } else if (h.result == "SKIP") {
    o.verdict = "SKIP";
    o.reason = h.skip_reason.empty() ? "skipped without a reason" : h.skip_reason;
  } else {
    o.verdict = "PASS";
  }
  if (o.verdict != "FAIL") return;
  if (const Precondition* p = breaker_for(pre, o.mechanism, prop(h.props, conform::kPropNeeds))) {
    o.verdict = "BROKEN";
    o.precondition = p->id;
    o.reason = "environment: " + p->problem + "; the test said: " + o.reason;
  }
}

// After a test's process was killed or died: what it recorded is removed by the manifest's
// clean (its owner is gone now), sysctls included.
void clean_after(const std::string& test) {
  auto r = manifest::clean(false);
  if (!r) return;
  for (const auto& l : r->removed) {
    std::fprintf(stderr, "[%s] cleaned up after it: %s %s\n", test.c_str(),
                 manifest::kind_name(l.kind), l.name.c_str());
  }
}

// Runs one test; `*stopped_by` is set (and the outcome meaningless) when a stop signal came.
ConformOutcome run_one(const ::testing::TestInfo* t, const ExecOptions& opt, int sigfd,
                       const sigset_t& child_mask, const std::vector<Precondition>& pre,
                       int* stopped_by) {
  TestNames n = names_of(t->test_suite_name(), t->name(), t->value_param() != nullptr);
  ConformOutcome o;
  o.test = n.full;
  o.mechanism = n.mechanism;
  o.behaviour = n.behaviour;
  const auto start = Clock::now();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    o.verdict = "FAIL";
    o.reason = std::string("the runner could not make a pipe: ") + std::strerror(errno);
    return o;
  }
  std::fflush(nullptr);
  const pid_t runner = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    child_main(n.full, p[1], runner, child_mask, sigfd);
  }
  ::close(p[1]);
  if (pid < 0) {
    ::close(p[0]);
    o.verdict = "FAIL";
    o.reason = std::string("the runner could not fork: ") + std::strerror(errno);
    return o;
  }
  ::setpgid(pid, pid);  // also done by the child; whichever runs first
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // -1: poll waitid
  const auto deadline = start + std::chrono::duration<double>(opt.timeout_s);
  Heard h;
  bool eof = false, timed_out = false;
  while (!has_exited(pid, pidfd)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3] = {{eof ? -1 : p[0], POLLIN, 0}, {pidfd, POLLIN, 0}, {sigfd, POLLIN, 0}};
    int wait_ms = static_cast<int>(std::min<long long>(left.count() + 1, pidfd >= 0 ? 60000 : 5));
    if (::poll(fds, 3, wait_ms) < 0 && errno != EINTR) ::usleep(1000);
    if (fds[0].revents != 0) eof = !drain(p[0], h, n.full, opt.print_failures);
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo si{};
      if (::read(sigfd, &si, sizeof si) == sizeof si) {
        *stopped_by = static_cast<int>(si.ssi_signo);
        break;
      }
    }
  }
  if (timed_out || *stopped_by != 0) {
    // Its own handlers remove its objects, restore its sysctls and end its group; a test too
    // stuck for that is killed a second later.
    ::kill(pid, SIGTERM);
    wait_exit(pid, pidfd, 1000);
  }
  ::kill(-pid, SIGKILL);  // whatever of its group is left (the group id is still its own)
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  drain(p[0], h, n.full, opt.print_failures);
  ::close(p[0]);
  if (pidfd >= 0) ::close(pidfd);
  o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  judge(o, h, status, timed_out, opt.timeout_s, pre);
  const bool abnormal = !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !h.ended;
  if (abnormal) clean_after(n.full);
  return o;
}

}  // namespace

ExecResult run_each(const std::vector<const ::testing::TestInfo*>& tests, const ExecOptions& o,
                    const std::vector<Precondition>& pre) {
  ExecResult res;
  // The stop signals are read from a signalfd between tests, so the running test can clean up
  // first; if there is no signalfd, they stay with the manifest's handlers (the test then
  // cleans up through PR_SET_PDEATHSIG).
  sigset_t stop, old;
  sigemptyset(&stop);
  for (int s : kStopSignals) sigaddset(&stop, s);
  ::pthread_sigmask(SIG_BLOCK, &stop, &old);
  int sigfd = ::signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  for (const ::testing::TestInfo* t : tests) {
    int stopped_by = 0;
    ConformOutcome out = run_one(t, o, sigfd, old, pre, &stopped_by);
    if (stopped_by != 0) {
      res.interrupted_by = stopped_by;
      break;
    }
    res.outcomes.push_back(std::move(out));
    const std::string& v = res.outcomes.back().verdict;
    if (o.fail_fast && (v == "FAIL" || v == "BROKEN")) break;
  }
  if (sigfd >= 0) {
    ::close(sigfd);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  return res;
}

}  // namespace ipcb::runner
