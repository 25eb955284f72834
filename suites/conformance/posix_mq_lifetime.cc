// Conformance of a POSIX message queue's attributes and life (mq_getattr(3), mq_setattr(3),
// mq_unlink(3), mq_overview(7)): the attributes reported and changed, persistence beyond the
// creator, unlink while open elsewhere, the owner's mode against another user, and the umask.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

mq_attr attrs(mqd_t q) {
  mq_attr a{};
  if (::mq_getattr(q, &a) != 0) ADD_FAILURE() << "mq_getattr: " << std::strerror(errno);
  return a;
}

// mq_getattr(3): mq_flags holds O_NONBLOCK as set by mq_open or mq_setattr, mq_maxmsg and
// mq_msgsize are those the queue was made with, mq_curmsgs counts the queued messages; EBADF
// for an invalid descriptor.
TEST(PosixMq, GetattrReportsFlagsSizesAndCount) {
  CONFORM_MAN("mq_getattr(3)");
  CONFORM_ROWS("Q51");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 5, 24));
  mq_attr a = attrs(q.q);
  EXPECT_EQ(a.mq_flags & O_NONBLOCK, 0);
  EXPECT_EQ(a.mq_maxmsg, 5);
  EXPECT_EQ(a.mq_msgsize, 24);
  EXPECT_EQ(a.mq_curmsgs, 0);
  mqd_t nb = ::mq_open(q.name.c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_NE(nb, static_cast<mqd_t>(-1)) << std::strerror(errno);
  Cleanup close_nb([nb] { ::mq_close(nb); });
  EXPECT_EQ(attrs(nb).mq_flags & O_NONBLOCK, O_NONBLOCK) << "opened O_NONBLOCK";
  ASSERT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  ASSERT_EQ(::mq_send(nb, "b", 1, 0), 0);
  EXPECT_EQ(attrs(q.q).mq_curmsgs, 2);
  char buf[24];
  ASSERT_EQ(::mq_receive(nb, buf, sizeof buf, nullptr), 1);
  EXPECT_EQ(attrs(q.q).mq_curmsgs, 1);
  mq_attr set{};
  set.mq_flags = O_NONBLOCK;
  ASSERT_EQ(::mq_setattr(q.q, &set, nullptr), 0);
  EXPECT_EQ(attrs(q.q).mq_flags & O_NONBLOCK, O_NONBLOCK) << "set by mq_setattr";
  EXPECT_EQ(failed_with(::mq_getattr(static_cast<mqd_t>(-1), &a)), EBADF);
}

// mq_setattr(3): only O_NONBLOCK of newattr->mq_flags is used; mq_maxmsg, mq_msgsize and
// mq_curmsgs are ignored; oldattr receives the previous attributes, as mq_getattr returns them;
// EBADF for an invalid descriptor.
TEST(PosixMq, SetattrChangesOnlyNonblock) {
  CONFORM_MAN("mq_setattr(3)");
  CONFORM_ROWS("Q52");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16, {"a", "b"}));
  mq_attr before = attrs(q.q), want{}, old{};
  want.mq_flags = O_NONBLOCK;
  want.mq_maxmsg = 9;
  want.mq_msgsize = 99;
  want.mq_curmsgs = 7;
  ASSERT_EQ(::mq_setattr(q.q, &want, &old), 0);
  EXPECT_EQ(old.mq_flags, before.mq_flags);
  EXPECT_EQ(old.mq_maxmsg, before.mq_maxmsg);
  EXPECT_EQ(old.mq_msgsize, before.mq_msgsize);
  EXPECT_EQ(old.mq_curmsgs, 2);
  mq_attr now = attrs(q.q);
  EXPECT_EQ(now.mq_flags & O_NONBLOCK, O_NONBLOCK);
  EXPECT_EQ(now.mq_maxmsg, 4);
  EXPECT_EQ(now.mq_msgsize, 16);
  EXPECT_EQ(now.mq_curmsgs, 2);
  char buf[16];
  ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
  ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
  EXPECT_EQ(failed_with(::mq_receive(q.q, buf, sizeof buf, nullptr)), EAGAIN) << "not O_NONBLOCK";
  want.mq_flags = 0;
  ASSERT_EQ(::mq_setattr(q.q, &want, &old), 0);
  EXPECT_EQ(old.mq_flags & O_NONBLOCK, O_NONBLOCK);
  EXPECT_EQ(attrs(q.q).mq_flags & O_NONBLOCK, 0);
  EXPECT_EQ(failed_with(::mq_setattr(static_cast<mqd_t>(-1), &want, &old)), EBADF);
}

// mq_setattr(3): EINVAL if newattr->mq_flags has bits other than O_NONBLOCK.
TEST(PosixMq, SetattrWithOtherFlagsFailsEinval) {
  CONFORM_MAN("mq_setattr(3)");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  mq_attr want{};
  want.mq_flags = O_NONBLOCK | O_APPEND;
  EXPECT_EQ(::mq_setattr(q.q, &want, nullptr), -1);
  EXPECT_EQ(errno, EINVAL);
}

// mq_overview(7), mq_open(3): queues have kernel persistence, and a name opened by another
// process refers to the same queue: a queue a child made and sent to outlives the child, and the
// parent receives the message through the name.
TEST(PosixMq, QueueAndMessagesOutliveCreator) {
  CONFORM_MAN("mq_overview(7)");
  CONFORM_ROWS("Q11");
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

// mq_unlink(3): returns 0 and removes the name at once (mq_open without O_CREAT then fails
// ENOENT, and O_CREAT makes a new, empty queue), while the queue itself lives on for a process that
// still has it open, with its messages, until that last descriptor is closed.
TEST(PosixMq, UnlinkWhileOpenElsewhereKeepsQueueUntilClosed) {
  CONFORM_MAN("mq_unlink(3)");
  CONFORM_ROWS("Q21 Q22");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16, {"old"}));
  PipeFds go;
  ASSERT_TRUE(go.ok);
  std::string name = q.name;
  AsyncChild holder([&](const AsyncChild::Ready& ready) {
    mqd_t mine = ::mq_open(name.c_str(), O_RDONLY | O_NONBLOCK);
    if (mine == static_cast<mqd_t>(-1)) return child_fail(1, "mq_open");
    ready();
    char c, buf[16];
    if (::read(go.r.get(), &c, 1) != 1) return 2;
    long n = ::mq_receive(mine, buf, sizeof buf, nullptr);
    return n == 3 && std::memcmp(buf, "old", 3) == 0 ? 0 : 3;
  });
  ASSERT_TRUE(holder.wait_ready()) << "the holder did not open the queue";
  ::mq_close(q.q);
  q.q = static_cast<mqd_t>(-1);
  EXPECT_EQ(::mq_unlink(q.name.c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(mq_open_errno(q.name, O_RDWR), ENOENT);
  MqQueue fresh;
  fresh.name = q.name;
  ASSERT_TRUE(make_queue(fresh, 4, 16));
  EXPECT_EQ(mq_curmsgs(fresh.q), 0) << "the new queue holds the old messages";
  ASSERT_EQ(::write(go.w.get(), "g", 1), 1);
  ChildResult r = holder.wait();
  EXPECT_CHILD_OK(r) << " (3: the unlinked queue lost its message)";
  EXPECT_EQ(mq_curmsgs(fresh.q), 0);
}

// mq_open(3): EACCES if the queue exists and the caller may not open it in oflag's mode: nobody
// opening root's mode-0700 queue O_RDONLY. With read permission for others it may.
TEST(PosixMq, ModeBitsEnforcedEacces) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q05");
  if (!is_root()) CONFORM_SKIP("not root: needs a second user (nobody) who is not the owner");
  MqQueue q;
  q.q = open_mq(q.name, O_RDONLY | O_CREAT | O_EXCL, 4, 16, 0700);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::fchmod(q.q, 0700), 0);  // whatever the umask
  std::string name = q.name;
  auto denied = as_nobody([&name] { return mq_open_errno(name, O_RDONLY); });
  EXPECT_EQ(denied.code, EACCES) << denied.describe();
  ASSERT_EQ(::fchmod(q.q, 0704), 0);
  auto allowed = as_nobody([&name] { return mq_open_errno(name, O_RDONLY); });
  EXPECT_EQ(allowed.code, 0) << allowed.describe() << " (mode 0704)";
}

// mq_unlink(3): EACCES if the caller may not unlink the queue: nobody unlinking root's queue
// (even of mode 0666); the queue and its message stay. Its owner may unlink it.
TEST(PosixMq, UnlinkByOtherUserFailsEacces) {
  CONFORM_MAN("mq_unlink(3)");
  CONFORM_ROWS("Q23");
  if (!is_root()) CONFORM_SKIP("not root: needs a second user (nobody) who is not the owner");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  ASSERT_EQ(::fchmod(q.q, 0666), 0);
  ASSERT_EQ(::mq_send(q.q, "kept", 4, 0), 0);
  std::string name = q.name;
  auto r = as_nobody([&name] { return failed_with(::mq_unlink(name.c_str())); });
  EXPECT_EQ(r.code, EACCES) << r.describe();
  EXPECT_EQ(mq_open_errno(q.name, O_RDONLY), 0) << "the name is gone";
  EXPECT_EQ(mq_curmsgs(q.q), 1);
  EXPECT_EQ(::mq_unlink(q.name.c_str()), 0) << "the owner may unlink it";
}

// mq_open(3): a new queue's permissions are mode masked by the process's umask; it belongs to the
// caller's effective uid and gid (fstat(2) of the descriptor, which Linux allows).
TEST(PosixMq, NewQueueModeMaskedByUmask) {
  CONFORM_MAN("mq_open(3)");
  std::string name = unique_name();
  Cleanup unlink([&name] { ::mq_unlink(name.c_str()); });
  auto r = unprivileged([&name] {
    ::umask(027);
    mqd_t q = open_mq(name, O_RDWR | O_CREAT | O_EXCL, 4, 16, 0666);
    struct stat st {};
    if (q == static_cast<mqd_t>(-1) || ::fstat(q, &st) != 0) return child_fail(1, "mq_open/fstat");
    if ((st.st_mode & 07777) != 0640) return 2;
    return st.st_uid == ::geteuid() && st.st_gid == ::getegid() ? 0 : 3;
  });
  EXPECT_CHILD_OK(r) << " (2: mode, 3: owner)";
}

}  // namespace
}  // namespace ipcb::conform
