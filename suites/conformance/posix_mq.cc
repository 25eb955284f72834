// Conformance of POSIX message queues (mq_overview(7), mq_open(3), mq_send(3), mq_receive(3),
// mq_notify(3), mq_getattr(3)): names, blocking, timeouts, signals, ordering, attributes,
// notification and lifetime. Attribute limits and resource limits are in posix_mq_limits.cc.
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

constexpr int kShortMs = 30;  // how long the timeout tests wait

// mq_overview(7): a name is "/somename"; mq_open(3): EINVAL if it does not follow that format.
TEST(PosixMq, NameWithoutLeadingSlashFailsEinval) {
  CONFORM_MAN("mq_open(3)");
  std::string name = unique_name().substr(1);
  EXPECT_EQ(mq_open_errno(name, O_RDWR | O_CREAT), EINVAL);
}

// mq_open(3): EACCES if name contained more than one slash.
TEST(PosixMq, NameWithSecondSlashFailsEacces) {
  CONFORM_MAN("mq_open(3)");
  EXPECT_EQ(mq_open_errno(unique_name() + "/x", O_RDWR | O_CREAT), EACCES);
}

// mq_open(3): ENOENT if name was just "/" followed by no other characters.
TEST(PosixMq, NameJustSlashFailsEnoent) {
  CONFORM_MAN("mq_open(3)");
  EXPECT_EQ(mq_open_errno("/", O_RDWR | O_CREAT), ENOENT);
}

// mq_overview(7): a name has up to NAME_MAX (255) characters; mq_open(3): ENAMETOOLONG beyond.
TEST(PosixMq, NameLongerThanNameMaxFailsEnametoolong) {
  CONFORM_MAN("mq_open(3)");
  std::string at = unique_name();
  at.resize(NAME_MAX + 1, 'n');  // the slash and NAME_MAX characters
  EXPECT_EQ(mq_open_errno(at, O_RDWR | O_CREAT), 0) << "a name of exactly NAME_MAX characters";
  EXPECT_EQ(mq_open_errno(at + "n", O_RDWR | O_CREAT), ENAMETOOLONG);
}

// mq_open(3): EEXIST if O_CREAT and O_EXCL were given and the queue exists.
TEST(PosixMq, ExclusiveCreateOfExistingFailsEexist) {
  CONFORM_MAN("mq_open(3)");
  MqQueue q;
  q.create();
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  EXPECT_EQ(mq_open_errno(q.name, O_RDWR | O_CREAT | O_EXCL), EEXIST);
}

// mq_open(3): ENOENT if O_CREAT was not given and no queue with this name exists;
// mq_unlink(3): ENOENT for a name that does not exist.
TEST(PosixMq, OpenOrUnlinkOfMissingQueueFailsEnoent) {
  CONFORM_MAN("mq_open(3)");
  std::string name = unique_name();
  EXPECT_EQ(mq_open_errno(name, O_RDWR), ENOENT);
  EXPECT_EQ(::mq_unlink(name.c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
}

// mq_send(3): EBADF if the descriptor is not open for writing; mq_receive(3): EBADF if it is
// not open for reading.
TEST(PosixMq, WrongAccessModeFailsEbadf) {
  CONFORM_MAN("mq_send(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  mqd_t ro = ::mq_open(q.name.c_str(), O_RDONLY);
  mqd_t wo = ::mq_open(q.name.c_str(), O_WRONLY);
  Cleanup close_both([&] { ::mq_close(ro), ::mq_close(wo); });
  ASSERT_NE(ro, static_cast<mqd_t>(-1));
  ASSERT_NE(wo, static_cast<mqd_t>(-1));
  EXPECT_EQ(::mq_send(ro, "x", 1, 0), -1);
  EXPECT_EQ(errno, EBADF);
  char buf[16];
  EXPECT_EQ(::mq_receive(wo, buf, sizeof buf, nullptr), -1);
  EXPECT_EQ(errno, EBADF);
}

// mq_send(3): EAGAIN if the queue is full and O_NONBLOCK is set.
TEST(PosixMq, NonblockingSendOnFullQueueFailsEagain) {
  CONFORM_MAN("mq_send(3)");
  MqQueue q;
  q.create(2, 16, O_NONBLOCK);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  EXPECT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  EXPECT_EQ(::mq_send(q.q, "b", 1, 0), 0);
  EXPECT_EQ(::mq_send(q.q, "c", 1, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
}

// mq_receive(3): EAGAIN if the queue is empty and O_NONBLOCK is set.
TEST(PosixMq, NonblockingReceiveOnEmptyQueueFailsEagain) {
  CONFORM_MAN("mq_receive(3)");
  MqQueue q;
  q.create(2, 16, O_NONBLOCK);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
}

// mq_receive(3): mq_timedreceive fails ETIMEDOUT once the absolute CLOCK_REALTIME deadline passes.
TEST(PosixMq, TimedReceiveTimesOutAtAbsoluteDeadline) {
  CONFORM_MAN("mq_receive(3)");
  MqQueue q;
  q.create(2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  timespec dl = clock_in(CLOCK_REALTIME, kShortMs);
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(::mq_timedreceive(q.q, buf, sizeof buf, nullptr, &dl), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_GE(ms_since(t0), kShortMs - 1);
  EXPECT_LT(ms_since(t0), 2000);
}

// mq_send(3): mq_timedsend on a full queue fails ETIMEDOUT once the deadline passes.
TEST(PosixMq, TimedSendOnFullQueueTimesOut) {
  CONFORM_MAN("mq_send(3)");
  MqQueue q;
  q.create(1, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  timespec dl = clock_in(CLOCK_REALTIME, kShortMs);
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(::mq_timedsend(q.q, "b", 1, 0, &dl), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_GE(ms_since(t0), kShortMs - 1);
}

// mq_receive(3): a deadline already in the past fails ETIMEDOUT at once when the call would block.
TEST(PosixMq, PastDeadlineTimesOutImmediately) {
  CONFORM_MAN("mq_receive(3)");
  MqQueue q;
  q.create(2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  timespec dl = clock_in(CLOCK_REALTIME, -1000);
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(::mq_timedreceive(q.q, buf, sizeof buf, nullptr, &dl), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_LT(ms_since(t0), 20);
}

// mq_receive(3): EINVAL if the call would block and abs_timeout's tv_nsec is >= 1000 million.
TEST(PosixMq, InvalidTimeoutWhenBlockingFailsEinval) {
  CONFORM_MAN("mq_receive(3)");
  MqQueue q;
  q.create(2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  timespec dl = clock_in(CLOCK_REALTIME, 1000);
  dl.tv_nsec = 1000000000;
  EXPECT_EQ(::mq_timedreceive(q.q, buf, sizeof buf, nullptr, &dl), -1);
  EXPECT_EQ(errno, EINVAL);
}

// mq_receive(3): EINTR if a signal handler (installed without SA_RESTART) interrupts the call.
TEST(PosixMq, BlockedReceiveInterruptedBySignalFailsEintr) {
  CONFORM_MAN("mq_receive(3)");
  MqQueue q;
  q.create(2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  InterruptingSignal sig(SIGUSR1);
  sig.send_after(20);
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), -1);
  EXPECT_EQ(errno, EINTR);
}

// signal(7): mq_receive is restarted after a handler installed with SA_RESTART.
TEST(PosixMq, BlockedReceiveRestartedWithSaRestart) {
  CONFORM_MAN("signal(7)");
  MqQueue q;
  q.create(2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  mqd_t w = q.q;
  InterruptingSignal sig(SIGUSR1, /*restart=*/true);
  sig.send_after(20, [w] { ::mq_send(w, "late", 4, 0); });  // 20 ms after the signal
  char buf[16];
  ssize_t n = ::mq_receive(q.q, buf, sizeof buf, nullptr);
  EXPECT_EQ(n, 4) << std::strerror(errno);
}

// mq_send(3): messages are received highest priority first; mq_receive returns the priority.
TEST(PosixMq, HigherPriorityReceivedFirst) {
  CONFORM_MAN("mq_send(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "low", 3, 1), 0);
  ASSERT_EQ(::mq_send(q.q, "high", 4, 7), 0);
  ASSERT_EQ(::mq_send(q.q, "mid", 3, 3), 0);
  char buf[16];
  unsigned prio = 0;
  for (unsigned want : {7u, 3u, 1u}) {
    ASSERT_GT(::mq_receive(q.q, buf, sizeof buf, &prio), 0);
    EXPECT_EQ(prio, want);
  }
}

// mq_send(3): messages of equal priority are received oldest first.
TEST(PosixMq, FifoWithinOnePriority) {
  CONFORM_MAN("mq_send(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  for (char c : std::string("abc")) ASSERT_EQ(::mq_send(q.q, &c, 1, 5), 0);
  std::string got;
  char buf[16];
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
    got += buf[0];
  }
  EXPECT_EQ(got, "abc");
}

// mq_overview(7), mq_receive(3): each receive returns exactly one message with its own length,
// including a zero-length one.
TEST(PosixMq, MessageBoundariesKept) {
  CONFORM_MAN("mq_receive(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "hello", 5, 0), 0);
  ASSERT_EQ(::mq_send(q.q, "", 0, 0), 0);
  ASSERT_EQ(::mq_send(q.q, "ab", 2, 0), 0);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 0);
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 2);
}

// mq_getattr(3): mq_curmsgs is the number of messages currently in the queue.
TEST(PosixMq, GetattrCountsQueuedMessages) {
  CONFORM_MAN("mq_getattr(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  EXPECT_EQ(mq_curmsgs(q.q), 0);
  ASSERT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  ASSERT_EQ(::mq_send(q.q, "b", 1, 0), 0);
  EXPECT_EQ(mq_curmsgs(q.q), 2);
  char buf[16];
  ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
  EXPECT_EQ(mq_curmsgs(q.q), 1);
}

// mq_getattr(3): mq_setattr changes only O_NONBLOCK; the other fields of newattr are ignored,
// and the old attributes come back in oldattr.
TEST(PosixMq, SetattrChangesOnlyNonblock) {
  CONFORM_MAN("mq_getattr(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  mq_attr want{}, old{}, now{};
  want.mq_flags = O_NONBLOCK;
  want.mq_maxmsg = 2;
  want.mq_msgsize = 8;
  ASSERT_EQ(::mq_setattr(q.q, &want, &old), 0);
  EXPECT_EQ(old.mq_flags & O_NONBLOCK, 0);
  ASSERT_EQ(::mq_getattr(q.q, &now), 0);
  EXPECT_EQ(now.mq_flags & O_NONBLOCK, O_NONBLOCK);
  EXPECT_EQ(now.mq_maxmsg, 4);
  EXPECT_EQ(now.mq_msgsize, 16);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN) << "O_NONBLOCK now applies";
}

// mq_setattr(3): EINVAL if newattr->mq_flags has bits other than O_NONBLOCK.
TEST(PosixMq, SetattrWithOtherFlagsFailsEinval) {
  CONFORM_MAN("mq_setattr(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  mq_attr want{};
  want.mq_flags = O_NONBLOCK | O_APPEND;
  EXPECT_EQ(::mq_setattr(q.q, &want, nullptr), -1);
  EXPECT_EQ(errno, EINVAL);
}

// mq_notify(3): only one process can be registered; another gets EBUSY until it unregisters.
TEST(PosixMq, NotifySecondProcessFailsEbusy) {
  CONFORM_MAN("mq_notify(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  sigevent ev{};
  ev.sigev_notify = SIGEV_NONE;
  ASSERT_EQ(::mq_notify(q.q, &ev), 0) << std::strerror(errno);
  mqd_t d = q.q;
  auto try_register = [d] {
    sigevent e{};
    e.sigev_notify = SIGEV_NONE;
    return ::mq_notify(d, &e) == 0 ? 0 : (errno == EBUSY ? 10 : 11);
  };
  auto busy = run_in_child(try_register);
  EXPECT_TRUE(busy.exited && busy.code == 10) << busy.describe() << " (10 = EBUSY)";
  ASSERT_EQ(::mq_notify(q.q, nullptr), 0);
  auto free_again = run_in_child(try_register);
  EXPECT_CHILD_OK(free_again);
}

// mq_notify(3): a message arriving on an empty queue sends the signal with si_code SI_MESGQ,
// once: the registration is then removed.
TEST(PosixMq, NotifySignalsOnceWithSiMesgq) {
  CONFORM_MAN("mq_notify(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  ::pthread_sigmask(SIG_BLOCK, &set, &old);
  Cleanup unblock([&] { ::pthread_sigmask(SIG_SETMASK, &old, nullptr); });
  sigevent ev{};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR2;
  ASSERT_EQ(::mq_notify(q.q, &ev), 0) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  siginfo_t info{};
  timespec wait{1, 0};
  ASSERT_EQ(::sigtimedwait(&set, &info, &wait), SIGUSR2);
  EXPECT_EQ(info.si_code, SI_MESGQ);
  mqd_t d = q.q;
  auto r = run_in_child([d] {
    sigevent e{};
    e.sigev_notify = SIGEV_NONE;
    return ::mq_notify(d, &e) == 0 ? 0 : 1;
  });
  EXPECT_CHILD_OK(r) << " (registration should be gone after one notification)";
}

// mq_overview(7): queues have kernel persistence: a queue and its messages outlive the creator.
TEST(PosixMq, QueueAndMessagesOutliveCreator) {
  CONFORM_MAN("mq_overview(7)");
  MqQueue q;  // owns the name; the child creates it
  std::string name = q.name;
  auto r = run_in_child([&name] {
    mqd_t c = open_mq(name, O_WRONLY | O_CREAT | O_EXCL, 4, 16);
    if (c == static_cast<mqd_t>(-1)) return child_fail(1, "mq_open");
    return ::mq_send(c, "kept", 4, 0) == 0 ? 0 : child_fail(2, "mq_send");
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  q.q = ::mq_open(name.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 4);
  EXPECT_EQ(std::string(buf, 4), "kept");
}

// mq_unlink(3): the name goes at once; the queue is destroyed only when the last descriptor is
// closed, and a new O_CREAT makes a new, empty queue.
TEST(PosixMq, UnlinkWhileOpenKeepsQueueUntilClosed) {
  CONFORM_MAN("mq_unlink(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "old", 3, 0), 0);
  ASSERT_EQ(::mq_unlink(q.name.c_str()), 0);
  EXPECT_EQ(mq_open_errno(q.name, O_RDWR), ENOENT);
  MqQueue fresh;
  fresh.name = q.name;
  fresh.create(4, 16);
  ASSERT_TRUE(fresh.ok()) << std::strerror(errno);
  EXPECT_EQ(mq_curmsgs(fresh.q), 0);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 3) << "the unlinked queue still works";
}

// mq_open(3): EACCES if the queue exists but the caller lacks permission for the mode asked.
TEST(PosixMq, ModeBitsEnforcedEacces) {
  CONFORM_MAN("mq_open(3)");
  MqQueue q;
  // As root another user is denied a 0600 queue; otherwise the owner is denied write on 0400.
  mode_t mode = is_root() ? 0600 : 0400;
  q.q = open_mq(q.name, O_RDONLY | O_CREAT | O_EXCL, 4, 16, mode);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  std::string name = q.name;
  auto r = run_in_child([&name] {
    if (is_root() && !drop_to_nobody()) return 1;
    return mq_open_errno(name, O_WRONLY) == EACCES ? 0 : 2;
  });
  EXPECT_CHILD_OK(r);
}

}  // namespace
}  // namespace ipcb::conform
