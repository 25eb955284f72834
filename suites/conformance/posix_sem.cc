// Conformance of named POSIX semaphores (sem_overview(7), sem_open(3), sem_close(3),
// sem_unlink(3)): names, creation rules, permissions and umask, and lifetime across close,
// unlink and processes. Waiting and posting are in posix_sem_wait.cc.
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_sem_helpers.h"

namespace ipcb::conform {
namespace {

// A named semaphore the test created; closed and unlinked on every path.
struct Named {
  std::string name = unique_name();
  sem_t* s = SEM_FAILED;
  Cleanup guard{[this] {
    if (s != SEM_FAILED) ::sem_close(s);
    ::sem_unlink(name.c_str());
  }};
  bool create(unsigned value, mode_t mode = 0600) {
    s = ::sem_open(name.c_str(), O_CREAT | O_EXCL, mode, value);
    return s != SEM_FAILED;
  }
};

// Sets the process umask for the scope (the tests that use it are single-threaded).
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

// errno of a failed sem_open, or 0 if it succeeded (a created semaphore is then removed).
int open_errno(const std::string& name, int oflag, unsigned value = 0) {
  sem_t* s = ::sem_open(name.c_str(), oflag, 0600, value);
  if (s == SEM_FAILED) return errno;
  ::sem_close(s);
  if (oflag & O_CREAT) ::sem_unlink(name.c_str());
  return 0;
}

// sem_overview(7): on Linux a named semaphore is a file "sem.NAME" in /dev/shm.
std::string backing_file(const std::string& name) {
  return "/dev/shm/sem." + name.substr(1);
}

// sem_open(3): EINVAL if name consists of just "/".
TEST(PosixSem, NameJustSlashFailsEinval) {
  CONFORM_MAN("sem_open(3)");
  EXPECT_EQ(open_errno("/", O_CREAT), EINVAL);
}

// sem_overview(7): a name has up to NAME_MAX-4 (251) characters after the slash;
// sem_open(3): ENAMETOOLONG for a longer one.
TEST(PosixSem, NameExactlyAtAndOnePastNameMaxMinusFour) {
  CONFORM_MAN("sem_overview(7)");
  std::string at = unique_name();
  at.resize(1 + NAME_MAX - 4, 's');
  EXPECT_EQ(open_errno(at, O_CREAT | O_EXCL), 0) << "a name of exactly NAME_MAX-4 characters";
  EXPECT_EQ(open_errno(at + "s", O_CREAT | O_EXCL), ENAMETOOLONG);
}

// sem_open(3): O_CREAT of a new name gives a usable semaphore with the value given;
// sem_close(3): returns 0.
TEST(PosixSem, CreateOfNewNameGivesUsableSemaphore) {
  CONFORM_MAN("sem_open(3)");
  CONFORM_ROWS("N05");
  Named n;
  ASSERT_TRUE(n.create(1)) << std::strerror(errno);
  EXPECT_EQ(value_of(n.s), 1);
  EXPECT_EQ(::sem_wait(n.s), 0);
  EXPECT_EQ(::sem_trywait(n.s), -1) << "the value was 1";
  EXPECT_EQ(::sem_post(n.s), 0);
  EXPECT_EQ(value_of(n.s), 1);
  EXPECT_EQ(::sem_close(n.s), 0);
  n.s = SEM_FAILED;
}

// sem_open(3): with O_CREAT and an existing name, mode and value are ignored: the value (and
// the permissions) of the existing semaphore stay.
TEST(PosixSem, CreateOfExistingIgnoresValueAndMode) {
  CONFORM_MAN("sem_open(3)");
  CONFORM_ROWS("N09");
  UmaskGuard mask(0);
  Named n;
  ASSERT_TRUE(n.create(2, 0600)) << std::strerror(errno);
  sem_t* again = ::sem_open(n.name.c_str(), O_CREAT, 0666, 9);
  ASSERT_NE(again, SEM_FAILED) << std::strerror(errno);
  Cleanup close_again([again] { ::sem_close(again); });
  EXPECT_EQ(value_of(again), 2);
  EXPECT_EQ(value_of(n.s), 2);
  struct stat st {};
  ASSERT_EQ(::stat(backing_file(n.name).c_str(), &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// sem_open(3): EACCES if the semaphore exists but the caller may not open it (a semaphore is
// always opened for reading and writing). Positive control: the same opener succeeds on a
// semaphore whose mode grants it. As root the opener is another user (nobody), who is denied
// mode 0444; otherwise the owner itself, denied by its own mode bits.
TEST(PosixSem, ReadOnlySemaphoreDeniesOpenEacces) {
  CONFORM_MAN("sem_open(3)");
  CONFORM_ROWS("N07");
  UmaskGuard mask(0);
  Named read_only, writable;
  ASSERT_TRUE(read_only.create(0, 0444)) << std::strerror(errno);
  ASSERT_TRUE(writable.create(0, 0666)) << std::strerror(errno);
  std::string denied = read_only.name, allowed = writable.name;
  ChildResult r = unprivileged([&] {
    if (open_errno(allowed, 0) != 0) return 1;  // positive control
    return open_errno(denied, 0) == EACCES ? 0 : 2;
  });
  EXPECT_CHILD_OK(r) << " (1: a mode-0666 semaphore could not be opened, 2: no EACCES)";
}

// sem_open(3): the permissions of a new semaphore are masked against the process umask.
TEST(PosixSem, CreateAppliesUmaskToMode) {
  CONFORM_MAN("sem_open(3)");
  Named n;
  {
    UmaskGuard mask(027);
    ASSERT_TRUE(n.create(0, 0666)) << std::strerror(errno);
  }
  struct stat st {};
  ASSERT_EQ(::stat(backing_file(n.name).c_str(), &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  if (!is_root()) return;  // the masked bits also deny another user (checked as root)
  std::string name = n.name;
  ChildResult r = as_nobody([&name] { return open_errno(name, 0) == EACCES ? 0 : 1; });
  EXPECT_CHILD_OK(r) << " (nobody could open a semaphore whose 'other' bits the umask cleared)";
}

// sem_open(3) [glibc]: opening a name this process already has open returns the same address;
// it stays valid until it was closed as often as it was opened; a semaphore created again after
// sem_unlink is a different one at another address.
TEST(PosixSem, RepeatedOpenReturnsSameAddressUntilClosedAsOften) {
  CONFORM_MAN("sem_open(3)");
  CONFORM_ROWS("N10");
  Named n;
  ASSERT_TRUE(n.create(3)) << std::strerror(errno);
  sem_t* second = ::sem_open(n.name.c_str(), 0);
  ASSERT_NE(second, SEM_FAILED) << std::strerror(errno);
  EXPECT_EQ(second, n.s);
  EXPECT_EQ(::sem_close(second), 0);
  EXPECT_EQ(value_of(n.s), 3) << "still open once: still usable";
  EXPECT_EQ(::sem_post(n.s), 0);
  ASSERT_EQ(::sem_unlink(n.name.c_str()), 0);
  Named fresh;
  fresh.name = n.name;
  ASSERT_TRUE(fresh.create(0)) << std::strerror(errno);
  EXPECT_NE(fresh.s, n.s) << "a new semaphore under the old name must not reuse the mapping";
  EXPECT_EQ(value_of(n.s), 4);
  EXPECT_EQ(value_of(fresh.s), 0);
}

// sem_close(3): closing without sem_unlink returns 0 and keeps the semaphore: the next open
// sees the value it had.
TEST(PosixSem, CloseWithoutUnlinkKeepsValue) {
  CONFORM_MAN("sem_close(3)");
  CONFORM_ROWS("N11");
  Named n;
  ASSERT_TRUE(n.create(0)) << std::strerror(errno);
  ASSERT_EQ(::sem_post(n.s), 0);
  ASSERT_EQ(::sem_post(n.s), 0);
  EXPECT_EQ(::sem_close(n.s), 0);
  n.s = ::sem_open(n.name.c_str(), 0);
  ASSERT_NE(n.s, SEM_FAILED) << std::strerror(errno);
  EXPECT_EQ(value_of(n.s), 2);
}

// sem_unlink(3): the name goes at once (an open without O_CREAT fails ENOENT); the semaphore
// lives on for those that have it open, and a new O_CREAT makes a distinct one.
TEST(PosixSem, UnlinkRemovesNameButKeepsOpenSemaphore) {
  CONFORM_MAN("sem_unlink(3)");
  CONFORM_ROWS("N12");
  Named n;
  ASSERT_TRUE(n.create(2)) << std::strerror(errno);
  ASSERT_EQ(::sem_unlink(n.name.c_str()), 0);
  EXPECT_EQ(open_errno(n.name, 0), ENOENT);
  Named fresh;
  fresh.name = n.name;
  ASSERT_TRUE(fresh.create(7)) << std::strerror(errno);
  EXPECT_EQ(::sem_trywait(n.s), 0) << "the unlinked semaphore still works";
  EXPECT_EQ(value_of(n.s), 1);
  EXPECT_EQ(value_of(fresh.s), 7);
}

// Whether this process maps the unlinked file of semaphore `name` (/proc/self/maps).
bool maps_unlinked(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line, want = backing_file(name) + " (deleted)";
  while (std::getline(maps, line)) {
    if (line.find(want) != std::string::npos) return true;
  }
  return false;
}

// Two processes that each opened the semaphore and wait for `go`: a waiter (exit 0 once it got
// a unit, and its sem_close dropped the mapping) and a poster.
struct Users {
  sem_t ready, go;
};

// sem_unlink(3): destruction is postponed while other processes still have the semaphore open:
// after the creator closed it and unlinked the name, two processes that opened it still
// synchronise through it; each one's reference goes with its sem_close.
TEST(PosixSem, UnlinkPostponesDestructionUntilEveryUserCloses) {
  CONFORM_MAN("sem_unlink(3)");
  CONFORM_ROWS("N13");
  Named n;
  ASSERT_TRUE(n.create(0)) << std::strerror(errno);
  ASSERT_EQ(::sem_close(n.s), 0);  // before the fork: each child maps the semaphore itself
  n.s = SEM_FAILED;
  SharedMemory<Users> u;
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(::sem_init(&u->ready, 1, 0), 0);
  ASSERT_EQ(::sem_init(&u->go, 1, 0), 0);
  std::string name = n.name;
  Users* shared = u.get();
  auto user = [name, shared](bool waiter) {
    return std::async(std::launch::async, [=] {
      return run_in_child([&] {
        sem_t* s = ::sem_open(name.c_str(), 0);
        if (s == SEM_FAILED) return 10;
        ::sem_post(&shared->ready);
        timespec until = clock_in(CLOCK_REALTIME, 5000);
        if (::sem_timedwait(&shared->go, &until) != 0) return 11;
        if (!waiter) return ::sem_post(s) == 0 ? 0 : 12;
        until = clock_in(CLOCK_REALTIME, 5000);
        if (::sem_timedwait(s, &until) != 0) return 13;  // the poster's unit arrived
        if (!maps_unlinked(name)) return 14;
        if (::sem_close(s) != 0) return 15;
        return maps_unlinked(name) ? 16 : 0;
      });
    });
  };
  auto waiter = user(true), poster = user(false);
  Cleanup release([shared] {  // on a failed assertion, no child waits out its deadline
    ::sem_post(&shared->go);
    ::sem_post(&shared->go);
  });
  for (int i = 0; i < 2; ++i) {
    timespec until = clock_in(CLOCK_REALTIME, 5000);
    ASSERT_EQ(::sem_timedwait(&u->ready, &until), 0) << "a child never opened the semaphore";
  }
  ASSERT_EQ(::sem_unlink(n.name.c_str()), 0);
  EXPECT_EQ(open_errno(n.name, 0), ENOENT);
  release.dismiss();
  ASSERT_EQ(::sem_post(&u->go), 0);
  ASSERT_EQ(::sem_post(&u->go), 0);
  ChildResult w = waiter.get(), p = poster.get();
  EXPECT_CHILD_OK(p);
  EXPECT_CHILD_OK(w) << " (13: no unit from the poster, 14/16: mapping not as expected)";
}

// sem_unlink(3): EACCES if the caller may not unlink the semaphore (/dev/shm is sticky: only
// the owner may remove it). Positive control: the same user unlinks a semaphore it owns.
TEST(PosixSem, UnlinkByOtherUserFailsEacces) {
  CONFORM_MAN("sem_unlink(3)");
  CONFORM_ROWS("N14");
  if (!is_root()) {
    CONFORM_SKIP(
        "needs a semaphore owned by another user: run as root (the check then runs "
        "as nobody in a child)");
  }
  struct stat dir {};
  if (::stat("/dev/shm", &dir) != 0 || !(dir.st_mode & S_ISVTX)) {
    CONFORM_SKIP("/dev/shm is not sticky, so any user who may write it may unlink");
  }
  Named n;
  ASSERT_TRUE(n.create(0, 0666)) << std::strerror(errno);
  std::string rootsem = n.name, own = unique_name();
  ChildResult r = as_nobody([&] {
    if (::sem_unlink(rootsem.c_str()) != -1 || errno != EACCES) return 1;
    sem_t* s = ::sem_open(own.c_str(), O_CREAT | O_EXCL, 0600, 0);
    if (s == SEM_FAILED) return 2;
    ::sem_close(s);
    return ::sem_unlink(own.c_str()) == 0 ? 0 : 3;  // positive control
  });
  ::sem_unlink(own.c_str());
  EXPECT_CHILD_OK(r) << " (1: no EACCES, 3: could not unlink its own semaphore)";
  EXPECT_EQ(open_errno(n.name, 0), 0) << "the name must survive the refused unlink";
}

// sem_unlink(3): ENOENT for a name that does not exist; ENAMETOOLONG for a name too long.
// glibc passes names of up to NAME_MAX+1 characters on (with 253 or more, its file "sem.NAME"
// exceeds NAME_MAX and unlink(2) says ENAMETOOLONG) but maps longer names (beyond its path
// buffer, up to PATH_MAX and past it) to ENOENT [glibc 2.36; sem_unlink(3) says ENAMETOOLONG].
TEST(PosixSem, UnlinkOfMissingOrTooLongName) {
  CONFORM_MAN("sem_unlink(3)");
  CONFORM_ROWS("N15");
  std::string missing = unique_name();
  EXPECT_EQ(failed_with(::sem_unlink(missing.c_str())), ENOENT);
  for (size_t len : {size_t{NAME_MAX - 2}, size_t{NAME_MAX + 1}}) {
    std::string longer = missing;
    longer.resize(len, 'n');
    EXPECT_EQ(failed_with(::sem_unlink(longer.c_str())), ENAMETOOLONG) << len << " characters";
  }
  for (size_t len : {size_t{NAME_MAX + 2}, size_t{PATH_MAX + 1}}) {
    std::string longer = missing;
    longer.resize(len, 'n');
    EXPECT_EQ(failed_with(::sem_unlink(longer.c_str())), ENOENT) << len << " characters [glibc]";
  }
}

// sem_overview(7): named semaphores have kernel persistence: one outlives its creator.
TEST(PosixSem, NamedSemaphoreOutlivesCreator) {
  CONFORM_MAN("sem_overview(7)");
  Named n;  // owns the name; the child creates it
  std::string name = n.name;
  auto r = run_in_child([&name] {
    sem_t* s = ::sem_open(name.c_str(), O_CREAT | O_EXCL, 0600, 3);
    return s == SEM_FAILED ? 1 : 0;  // exits without sem_close or sem_unlink
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  n.s = ::sem_open(name.c_str(), 0);
  ASSERT_NE(n.s, SEM_FAILED) << std::strerror(errno);
  EXPECT_EQ(value_of(n.s), 3);
}

// sem_overview(7): a named semaphore opened by two processes is the same semaphore.
TEST(PosixSem, NamedSemaphoreSharedBetweenProcesses) {
  CONFORM_MAN("sem_overview(7)");
  Named n;
  ASSERT_TRUE(n.create(0)) << std::strerror(errno);
  std::string name = n.name;
  auto r = run_in_child([&name] {
    sem_t* s = ::sem_open(name.c_str(), 0);
    if (s == SEM_FAILED) return 1;
    return ::sem_post(s) == 0 && ::sem_post(s) == 0 ? 0 : 2;
  });
  EXPECT_CHILD_OK(r);
  EXPECT_EQ(value_of(n.s), 2);
}

}  // namespace
}  // namespace ipcb::conform
