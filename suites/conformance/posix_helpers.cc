// The helpers of posix_helpers.h.
#include "suites/conformance/posix_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

bool write_proc(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool enter_private_namespaces(int flags) {
  if (::geteuid() == 0) return ::unshare(flags) == 0;
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | flags) != 0) return false;
  return write_proc("/proc/self/setgroups", "deny") &&
         write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") &&
         write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
}

bool mount_private_tmpfs(const char* dir, size_t bytes) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  std::string opts = "size=" + std::to_string(bytes);
  return ::mount("ipcb-conf", dir, "tmpfs", 0, opts.c_str()) == 0;
}

bool become_nobody() {
  return drop_to_nobody() && ::prctl(PR_SET_DUMPABLE, 1) == 0;
}

TempFile::TempFile(size_t size, int flags) {
  int w = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (w < 0) return;
  bool sized = ::ftruncate(w, static_cast<off_t>(size)) == 0;
  ::close(w);
  if (sized) fd = ::open(path.c_str(), flags | O_CLOEXEC);
}

TempFile::~TempFile() {
  if (fd >= 0) ::close(fd);
}

std::string TempFile::read_back(size_t off, size_t n) const {
  std::string s(n, '\0');
  ssize_t got = ::pread(fd, s.data(), n, static_cast<off_t>(off));
  s.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return s;
}

AsyncChild::AsyncChild(const std::function<int(const Ready& ready)>& fn, int timeout_ms)
    : deadline_ms_(now_ms() + timeout_ms) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return;
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::signal(SIGSEGV, SIG_DFL);  // a fault under test kills the child with its real signal
    ::signal(SIGBUS, SIG_DFL);
    ::close(p[0]);
    int w = p[1];
    int code = fn([w] { (void)!::write(w, "r", 1); });
    ::_exit(code);
  }
  ::close(p[1]);
  ready_fd_ = p[0];
}

AsyncChild::~AsyncChild() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (ready_fd_ >= 0) ::close(ready_fd_);
}

bool AsyncChild::wait_ready(int timeout_ms) {
  if (pid_ <= 0) return false;
  pollfd p{ready_fd_, POLLIN, 0};
  char c;
  return ::poll(&p, 1, timeout_ms) == 1 && ::read(ready_fd_, &c, 1) == 1;
}

bool AsyncChild::wait_blocked(int timeout_ms) {
  return wait_ready(timeout_ms) && wait_until_blocked(pid_, timeout_ms);
}

ChildResult AsyncChild::wait() {
  ChildResult r;
  if (pid_ <= 0 || reaped_) return r;
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w == pid_) break;
    if (now_ms() > deadline_ms_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      reaped_ = true;
      r.timed_out = true;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  reaped_ = true;
  if (WIFEXITED(status)) {
    r.exited = true;
    r.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

int lowest_free_fd() {
  for (int fd = 0;; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) return fd;
  }
}

bool set_nofile_limit(long limit) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
  rl.rlim_cur = static_cast<rlim_t>(limit);
  return ::setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

::testing::AssertionResult make_queue(MqQueue& q, long maxmsg, long msgsize,
                                      std::initializer_list<std::string_view> messages, int extra) {
  q.create(maxmsg, msgsize, extra);
  if (!q.ok()) return ::testing::AssertionFailure() << "mq_open: " << std::strerror(errno);
  for (std::string_view m : messages) {
    if (::mq_send(q.q, m.data(), m.size(), 0) != 0) {
      return ::testing::AssertionFailure()
             << "mq_send of \"" << m << "\": " << std::strerror(errno);
    }
  }
  return ::testing::AssertionSuccess();
}

void expect_timeout_at_deadline(clockid_t clock, int ms,
                                const std::function<int(const timespec&)>& call) {
  timespec dl = clock_in(clock, ms);
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(call(dl), ETIMEDOUT);
  EXPECT_GE(ms_since(t0), ms - 1);
  EXPECT_LT(ms_since(t0), 2000);
}

int init_shared_mutex(pthread_mutex_t* m, int type, int robust) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_mutexattr_settype(&a, type);
  if (rc == 0) rc = pthread_mutexattr_setrobust(&a, robust);
  if (rc == 0) rc = pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
  return rc;
}

std::vector<int> exclusive_create_race(int procs, const std::vector<std::string>& names,
                                       const std::function<int(const std::string&)>& create) {
  constexpr int kMaxNames = 64;
  struct Tally {
    std::atomic<int> wins[kMaxNames];
    std::atomic<int> other_errors;
  };
  SharedMemory<Tally> tally;
  PipeFds start;
  if (!tally.ok() || !start.ok || names.size() > kMaxNames) return {};
  std::vector<std::unique_ptr<AsyncChild>> kids;
  for (int c = 0; c < procs; ++c) {
    kids.push_back(std::make_unique<AsyncChild>([&, c](const AsyncChild::Ready&) {
      start.w.reset();
      char x;
      (void)!::read(start.r.get(), &x, 1);  // returns (EOF) when the parent lets all go at once
      for (size_t k = 0; k < names.size(); ++k) {
        size_t i = (k + static_cast<size_t>(c) * 7) % names.size();
        int rc = create(names[i]);
        if (rc == 0) {
          tally->wins[i].fetch_add(1);
        } else if (rc != EEXIST) {
          tally->other_errors.fetch_add(1);
        }
      }
      return 0;
    }));
  }
  start.w.reset();  // every child's read returns now
  bool all_ok = true;
  for (auto& kid : kids) {
    ChildResult r = kid->wait();
    all_ok = all_ok && r.exited && r.code == 0;
  }
  if (!all_ok || tally->other_errors.load() != 0) return {};
  std::vector<int> out;
  for (size_t i = 0; i < names.size(); ++i) out.push_back(tally->wins[i].load());
  return out;
}

}  // namespace ipcb::conform
