// Conformance of the robust futex list system calls under process-shared robust mutexes
// (get_robust_list(2), set_robust_list(2)): the length check, reading one's own head, and the
// errors for bad pointers, missing threads and other users' threads.
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

// The raw system calls (glibc has no wrappers); -1 and errno on failure.
long set_robust(void* head, size_t len) {
  return ::syscall(SYS_set_robust_list, head, len);
}
long get_robust(pid_t pid, void* head_ptr, void* len_ptr) {
  return ::syscall(SYS_get_robust_list, pid, head_ptr, len_ptr);
}

// set_robust_list(2): EINVAL when len is not sizeof(struct robust_list_head); the right length
// is accepted, and get_robust_list then reports the new head. (Run in a child, which gives the
// thread's glibc-registered head back before it exits.)
TEST(Pthread, SetRobustListChecksLength) {
  CONFORM_MAN("set_robust_list(2)");
  CONFORM_ROWS("T08");
  ChildResult r = run_in_child([] {
    robust_list_head* glibc_head = nullptr;
    size_t len = 0;
    if (get_robust(0, &glibc_head, &len) != 0) return 1;
    if (len != sizeof(robust_list_head)) return 2;
    if (set_robust(glibc_head, len + 1) != -1 || errno != EINVAL) return 3;
    if (set_robust(glibc_head, len - 1) != -1 || errno != EINVAL) return 4;
    robust_list_head mine{};
    mine.list.next = &mine.list;  // an empty list
    if (set_robust(&mine, sizeof mine) != 0) return 5;
    robust_list_head* got = nullptr;
    if (get_robust(0, &got, &len) != 0 || got != &mine) return 6;
    return set_robust(glibc_head, sizeof *glibc_head) == 0 ? 0 : 7;
  });
  EXPECT_CHILD_OK(r) << " (3/4: a wrong length was accepted, 5: the right one refused)";
}

// A pid no thread has: a child's, after it was reaped.
pid_t unused_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  if (pid > 0) ::waitpid(pid, nullptr, 0);
  return pid;
}

// In a child without root's privileges: 0 for a process of its own user (made dumpable, as
// ptrace(2) requires), EPERM for `other`, a process of another user.
int read_heads_unprivileged(pid_t other) {
  ::prctl(PR_SET_DUMPABLE, 1);  // dropping from root cleared it
  pid_t same_user = ::fork();   // inherits the dumpable flag
  if (same_user == 0) {
    ::pause();
    ::_exit(0);
  }
  void* head = nullptr;
  size_t len = 0;
  int code = 0;
  if (get_robust(same_user, &head, &len) != 0)
    code = 1;  // positive control
  else if (get_robust(other, &head, &len) != -1 || errno != EPERM)
    code = 2;
  ::kill(same_user, SIGKILL);
  ::waitpid(same_user, nullptr, 0);
  return code;
}

// get_robust_list(2): 0 for oneself (pid 0 or one's tid) with the head glibc registered and its
// size; EFAULT when the head or the length cannot be stored; ESRCH for a pid no thread has;
// EPERM, without CAP_SYS_PTRACE, for another user's thread (positive control: a process of the
// caller's own user).
TEST(Pthread, GetRobustListErrors) {
  CONFORM_MAN("get_robust_list(2)");
  CONFORM_ROWS("T09");
  void* head = nullptr;
  size_t len = 0;
  ASSERT_EQ(get_robust(0, &head, &len), 0) << std::strerror(errno);
  EXPECT_NE(head, nullptr) << "glibc registers every thread's list";
  EXPECT_EQ(len, sizeof(robust_list_head));
  void* own = nullptr;
  EXPECT_EQ(get_robust(::gettid(), &own, &len), 0);
  EXPECT_EQ(own, head);
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(get_robust(0, page.get(), &len)), EFAULT) << "head_ptr";
  EXPECT_EQ(failed_with(get_robust(0, &head, page.get())), EFAULT) << "len_ptr";
  pid_t gone = unused_pid();
  ASSERT_GT(gone, 0);
  EXPECT_EQ(failed_with(get_robust(gone, &head, &len)), ESRCH);
  // Another user's process: as root, this one (the child drops to nobody); otherwise PID 1 if
  // another user owns it.
  pid_t other = ::getpid();
  if (!is_root()) {
    struct stat st {};
    if (::stat("/proc/1", &st) != 0 || st.st_uid == ::geteuid()) {
      CONFORM_SKIP("no process of another user is visible (PID 1 is ours): run as root");
    }
    other = 1;
  }
  ChildResult r = unprivileged([other] { return read_heads_unprivileged(other); });
  EXPECT_CHILD_OK(r) << " (1: own user's process refused, 2: no EPERM for another user's)";
}

}  // namespace
}  // namespace ipcb::conform
