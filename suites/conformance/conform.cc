// Shared helpers of the conformance tests (see conform.h).
#include "suites/conformance/conform.h"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "harness/sys/manifest.h"

namespace ipcb::conform {
namespace {

// The manifest records of the running test (see conform.h): made by the process that runs the
// test only, released when it ends.
struct TestRecords {
  std::mutex mu;
  pid_t test_pid = 0;  // the process running the current test, 0 between tests
  std::vector<int> handles;
};
TestRecords& test_records() {
  static TestRecords r;
  return r;
}

bool in_test_process() {
  TestRecords& r = test_records();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.test_pid != 0 && r.test_pid == ::getpid();
}

// Records `name` for the running test (made in its own process only); the handle, or -1.
int remember(manifest::Kind kind, const std::string& name) {
  if (!in_test_process()) return -1;
  auto h = manifest::record(kind, name);  // best effort: a run as nobody may have no directory
  if (!h) return -1;
  TestRecords& r = test_records();
  std::lock_guard<std::mutex> lock(r.mu);
  r.handles.push_back(*h);
  return *h;
}

// Undoes remember() for a name that was not used after all.
void forget(int handle) {
  if (handle < 0) return;
  manifest::release(handle);
  TestRecords& r = test_records();
  std::lock_guard<std::mutex> lock(r.mu);
  r.handles.erase(std::remove(r.handles.begin(), r.handles.end(), handle), r.handles.end());
}

// Marks each test's start and releases its records when it ends (after its guards removed
// the objects). Registered once, before main, in every program that links the tests.
class RecordsOfEachTest : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override {
    TestRecords& r = test_records();
    std::lock_guard<std::mutex> lock(r.mu);
    r.test_pid = ::getpid();
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    TestRecords& r = test_records();
    std::lock_guard<std::mutex> lock(r.mu);
    for (int h : r.handles) manifest::release(h);
    r.handles.clear();
    r.test_pid = 0;
  }
};
[[maybe_unused]] const bool kRecordsListening = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new RecordsOfEachTest);
  return true;
}();

// The IPC namespace a sysctl belongs to, for its manifest record: "ipc:[N]" for the per-IPC-
// namespace ones (ipc_namespaces(7)), "-" for machine-wide ones.
std::string sysctl_namespace(const std::string& path) {
  bool per_ns = false;
  for (const char* p : {"/proc/sys/kernel/shm", "/proc/sys/kernel/msg", "/proc/sys/kernel/sem",
                        "/proc/sys/fs/mqueue/"}) {
    per_ns = per_ns || path.rfind(p, 0) == 0;
  }
  if (!per_ns) return "-";
  std::error_code ec;
  auto link = std::filesystem::read_symlink("/proc/self/ns/ipc", ec);
  return ec ? "-" : link.string();
}

uint64_t random64() {
  uint64_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != sizeof v) std::abort();
  return v;
}

std::string sysctl_path(std::string name) {
  if (name.find('/') == std::string::npos) {
    for (char& c : name) {
      if (c == '.') c = '/';
    }
  }
  return "/proc/sys/" + name;
}

}  // namespace

std::string mark_broken(const std::string& reason) {
  ::testing::Test::RecordProperty(kPropBroken, reason);
  return reason;
}

int failed_with(long rc) {
  return rc == -1 ? errno : 0;
}

int failed_with(void* p) {
  return p == reinterpret_cast<void*>(-1) ? errno : 0;
}

std::string exited_with(int code) {
  return "child exited with " + std::to_string(code);
}

int child_fail(int code, const char* what) {
  std::fprintf(stderr, "child: %s: %s\n", what, std::strerror(errno));
  return code;
}

std::string unique_name() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "/ipcb-conf-%016llx", static_cast<unsigned long long>(random64()));
  remember(manifest::Kind::kPosixName, buf);
  return buf;
}

TempDir::TempDir() {
  // mkdtemp(3)'s name shape, but recorded before the folder exists (as every object is), so a
  // signal at any moment finds it in the manifest.
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const std::string base = (std::filesystem::temp_directory_path() / "ipcb-conf-").string();
  for (;;) {
    uint64_t r = random64();
    std::string path = base;
    for (int i = 0; i < 6; ++i, r /= 62) path += kChars[r % 62];
    int record = remember(manifest::Kind::kDir, path);
    if (::mkdir(path.c_str(), 0700) == 0) {
      path_ = path;
      return;
    }
    int err = errno;
    forget(record);
    if (err != EEXIST) std::abort();
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

key_t unique_key() {
  for (;;) {
    key_t k = static_cast<key_t>(random64() & 0x7fffffff);
    if (k == IPC_PRIVATE) continue;
    // Taken by any kind of SysV object? Then try another.
    if (::shmget(k, 0, 0) >= 0 || errno != ENOENT) continue;
    if (::msgget(k, 0) >= 0 || errno != ENOENT) continue;
    if (::semget(k, 0, 0) >= 0 || errno != ENOENT) continue;
    remember(manifest::Kind::kSysvKey, std::to_string(k));
    return k;
  }
}

std::string ChildResult::describe() const {
  if (timed_out) return "child timed out";
  if (exited) return "child exited with " + std::to_string(code);
  return "child killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

ChildResult child_ended(int status) {
  ChildResult r;
  r.exited = WIFEXITED(status);
  if (r.exited) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

ChildResult run_in_child(const std::function<int()>& fn, int timeout_ms) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return ChildResult{};
  if (pid == 0) {
    // A fault under test must kill the child with its real signal, also in sanitizer builds
    // (whose handlers would turn it into an error exit).
    ::signal(SIGSEGV, SIG_DFL);
    ::signal(SIGBUS, SIG_DFL);
    int code = fn();
    ::_exit(code);
  }
  ChildResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return child_ended(status);
}

bool is_root() {
  return ::geteuid() == 0;
}

bool has_capability(int cap) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      unsigned long long mask = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (mask >> cap) & 1ULL;
    }
  }
  return false;
}

bool drop_to_nobody() {
  if (::setgroups(0, nullptr) != 0 && errno != EPERM) return false;
  if (::setgid(65534) != 0) return false;
  if (::setuid(65534) != 0) return false;
  return ::geteuid() == 65534;
}

ChildResult as_nobody(const std::function<int()>& fn) {
  return run_in_child([&] { return drop_to_nobody() ? fn() : kSetupFailed; });
}

ChildResult unprivileged(const std::function<int()>& fn) {
  return run_in_child([&] { return is_root() && !drop_to_nobody() ? kSetupFailed : fn(); });
}

std::optional<long long> read_sysctl(const std::string& name) {
  std::ifstream f(sysctl_path(name));
  long long v = 0;
  if (!(f >> v)) return std::nullopt;
  return v;
}

std::optional<unsigned long long> read_sysctl_u64(const std::string& name) {
  std::ifstream f(sysctl_path(name));
  std::string text;
  if (!(f >> text) || text.empty() || text[0] == '-') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

timespec clock_in(clockid_t clock, int ms) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  long long ns = static_cast<long long>(ts.tv_sec) * 1000000000 + ts.tv_nsec +
                 static_cast<long long>(ms) * 1000000;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  return ts;
}

double ms_since(const timespec& start) {
  timespec now = clock_in(CLOCK_MONOTONIC, 0);
  return (now.tv_sec - start.tv_sec) * 1e3 + (now.tv_nsec - start.tv_nsec) / 1e6;
}

SysctlGuard::SysctlGuard(const std::string& name, long long value) : name_(sysctl_path(name)) {
  std::ifstream in(name_);
  if (!std::getline(in, old_)) return;
  // Saved before the change (see conform.h): by the test's own process, or by any process for
  // a machine-wide sysctl (a private IPC namespace's values die with it).
  const std::string ns = sysctl_namespace(name_);
  if (in_test_process() || ns == "-") {
    auto h = manifest::record(manifest::Kind::kSysctl, name_, ns + " " + old_);
    if (h) record_ = *h;
  }
  std::ofstream out(name_);
  if (!(out << value << "\n") || !out.flush()) {
    manifest::release(record_);
    record_ = -1;
    return;
  }
  ok_ = true;
}

SysctlGuard::~SysctlGuard() {
  if (ok_) {
    std::ofstream out(name_);
    // A failed restore keeps the record, for the signal handlers or `ipcbench clean` to retry.
    if (!(out << old_ << "\n") || !out.flush()) return;
  }
  manifest::release(record_);
}

namespace {
// The state letter of thread `tid` from its stat file, or 0 if it cannot be read.
char thread_state(pid_t tid) {
  std::string id = std::to_string(tid);
  std::ifstream f("/proc/self/task/" + id + "/stat");
  if (!f) f.open("/proc/" + id + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return 0;
  auto paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  return paren == std::string::npos || paren + 2 >= stat.size() ? 0 : stat[paren + 2];
}
}  // namespace

bool wait_until_blocked(pid_t tid, int timeout_ms) {
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  for (;;) {
    char state = thread_state(tid);
    if (state == 'S' || state == 'D') return true;
    if (state == 0 || ms_since(start) > timeout_ms) return false;
    timespec tick{0, 200000};
    ::nanosleep(&tick, nullptr);
  }
}

namespace {
void ignore_signal(int) {}
}  // namespace

InterruptingSignal::InterruptingSignal(int sig, bool restart)
    : sig_(sig), old_(new struct sigaction) {
  struct sigaction sa {};
  sa.sa_handler = ignore_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = restart ? SA_RESTART : 0;  // without SA_RESTART the call fails with EINTR
  ::sigaction(sig, &sa, old_);
}

InterruptingSignal::~InterruptingSignal() {
  if (join_) join_();
  ::sigaction(sig_, old_, nullptr);
  delete old_;
}

void InterruptingSignal::send_after(int delay_ms, std::function<void()> then) {
  pthread_t target = ::pthread_self();
  int sig = sig_;
  auto* t = new std::thread([target, sig, delay_ms, then = std::move(then)] {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::pthread_kill(target, sig);
    if (!then) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    then();
  });
  join_ = [t] {
    t->join();
    delete t;
  };
}

}  // namespace ipcb::conform
