// Conformance of POSIX message queues (mq_overview(7), mq_open(3), mq_close(3), mq_send(3),
// mq_receive(3), mq_getattr(3), mq_unlink(3)): names, opening, closing, access modes, ordering,
// attributes and lifetime. Blocking and timeouts are in posix_mq_timed.cc, notification in
// posix_mq_notify.cc, limits in posix_mq_limits.cc, IPC namespaces in posix_mq_ns.cc.
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

// mq_open(3), mq_overview(7): what Linux does with names and flags POSIX leaves open: a name
// without the leading slash, and the empty name, fail EINVAL (glibc); "/" alone fails ENOENT; a
// second slash EACCES; O_WRONLY | O_RDWR together EINVAL; and with no descriptor left, EMFILE.
TEST(PosixMq, ImplementationDefinedNamesAndFlags) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q04 Q17");
  EXPECT_EQ(mq_open_errno(unique_name().substr(1), O_RDWR | O_CREAT), EINVAL) << "no slash";
  EXPECT_EQ(mq_open_errno("", O_RDWR | O_CREAT), EINVAL) << "empty";
  EXPECT_EQ(mq_open_errno("/", O_RDWR | O_CREAT), ENOENT) << "slash alone";
  EXPECT_EQ(mq_open_errno(unique_name() + "/x", O_RDWR | O_CREAT), EACCES) << "second slash";
  MqQueue q;
  ASSERT_TRUE(make_queue(q));
  EXPECT_EQ(mq_open_errno(q.name, O_WRONLY | O_RDWR), EINVAL) << "O_WRONLY | O_RDWR";
  std::string name = q.name;
  auto r = run_in_child([&name] {
    if (!set_nofile_limit(lowest_free_fd())) return child_fail(kSetupFailed, "setrlimit");
    return mq_open_errno(name, O_RDWR);
  });
  EXPECT_EQ(r.code, EMFILE) << r.describe();
}

// mq_overview(7): a name has up to NAME_MAX (255) characters after the slash; mq_open(3):
// ENAMETOOLONG for a longer one, and for a name longer than PATH_MAX.
TEST(PosixMq, NameLongerThanNameMaxFailsEnametoolong) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q03 Q16");
  std::string at = unique_name();
  at.resize(NAME_MAX + 1, 'n');  // the slash and NAME_MAX characters
  EXPECT_EQ(mq_open_errno(at, O_RDWR | O_CREAT), 0) << "a name of exactly NAME_MAX characters";
  EXPECT_EQ(mq_open_errno(at + "n", O_RDWR | O_CREAT), ENAMETOOLONG);
  std::string huge = unique_name();
  huge.resize(PATH_MAX + 1, 'p');
  EXPECT_EQ(mq_open_errno(huge, O_RDWR | O_CREAT), ENAMETOOLONG);
}

// mq_open(3): EEXIST if O_CREAT and O_EXCL were given and the queue exists.
TEST(PosixMq, ExclusiveCreateOfExistingFailsEexist) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q06");
  MqQueue q;
  ASSERT_TRUE(make_queue(q));
  EXPECT_EQ(mq_open_errno(q.name, O_RDWR | O_CREAT | O_EXCL), EEXIST);
}

// mq_open(3): ENOENT, returning (mqd_t) -1, if O_CREAT was not given and no queue with this name
// exists; mq_unlink(3): ENOENT for a name that does not exist.
TEST(PosixMq, OpenOrUnlinkOfMissingQueueFailsEnoent) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q08");
  std::string name = unique_name();
  EXPECT_EQ(mq_open_errno(name, O_RDWR), ENOENT);
  EXPECT_EQ(::mq_unlink(name.c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
}

// mq_unlink(3): ENOENT for a name of exactly NAME_MAX characters that does not exist;
// ENAMETOOLONG for a name one character longer.
TEST(PosixMq, UnlinkOfMissingOrTooLongNameFails) {
  CONFORM_MAN("mq_unlink(3)");
  CONFORM_ROWS("Q24");
  std::string at = unique_name();
  at.resize(NAME_MAX + 1, 'u');
  EXPECT_EQ(failed_with(::mq_unlink(at.c_str())), ENOENT);
  EXPECT_EQ(failed_with(::mq_unlink((at + "u").c_str())), ENAMETOOLONG);
}

// In `q` (made by the caller): 0 if O_RDONLY only receives, O_WRONLY only sends (the other call
// failing EBADF) and O_RDWR does both; else which check failed.
int access_modes_hold(const std::string& name) {
  char buf[16];
  mqd_t ro = ::mq_open(name.c_str(), O_RDONLY), wo = ::mq_open(name.c_str(), O_WRONLY),
        rw = ::mq_open(name.c_str(), O_RDWR);
  Cleanup close_all([&] { ::mq_close(ro), ::mq_close(wo), ::mq_close(rw); });
  if (ro == static_cast<mqd_t>(-1) || wo == static_cast<mqd_t>(-1) || rw == static_cast<mqd_t>(-1))
    return 1;
  if (failed_with(::mq_send(ro, "x", 1, 0)) != EBADF) return 2;
  if (::mq_send(wo, "w", 1, 0) != 0 || ::mq_receive(ro, buf, sizeof buf, nullptr) != 1) return 3;
  if (failed_with(::mq_receive(wo, buf, sizeof buf, nullptr)) != EBADF) return 4;
  if (::mq_send(rw, "b", 1, 0) != 0 || ::mq_receive(rw, buf, sizeof buf, nullptr) != 1) return 5;
  return 0;
}

// mq_open(3): O_RDONLY opens to receive only, O_WRONLY to send only, O_RDWR for both; mq_send(3)
// and mq_receive(3) fail EBADF on a descriptor without the mode. The same in another process.
TEST(PosixMq, AccessModesLimitSendAndReceive) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q10");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  EXPECT_EQ(access_modes_hold(q.name), 0) << "2, 4: no EBADF; 3, 5: an allowed call failed";
  std::string name = q.name;
  auto r = run_in_child([&name] { return access_modes_hold(name); });
  EXPECT_CHILD_OK(r) << " (in another process)";
}

// mq_open(3): O_CREAT on an existing queue opens it; the queue's attributes (attr is ignored)
// and its messages stay as they were.
TEST(PosixMq, OpenOfExistingWithCreateChangesNothing) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q12");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16, {"one", "two"}));
  mqd_t again = open_mq(q.name, O_RDWR | O_CREAT, 8, 32);
  ASSERT_NE(again, static_cast<mqd_t>(-1)) << std::strerror(errno);
  Cleanup close_again([again] { ::mq_close(again); });
  mq_attr a{};
  ASSERT_EQ(::mq_getattr(again, &a), 0);
  EXPECT_EQ(a.mq_maxmsg, 4);
  EXPECT_EQ(a.mq_msgsize, 16);
  EXPECT_EQ(a.mq_curmsgs, 2);
  char buf[16];
  EXPECT_EQ(::mq_receive(again, buf, sizeof buf, nullptr), 3);
  EXPECT_EQ(std::string(buf, 3), "one");
}

// mq_open(3): with O_CREAT and attr, the new queue has attr's mq_maxmsg and mq_msgsize.
TEST(PosixMq, CreateWithAttributesGetsThem) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q13");
  for (auto [maxmsg, msgsize] : {std::pair{3L, 40L}, {1L, 1L}, {7L, 1000L}}) {
    MqQueue q;
    ASSERT_TRUE(make_queue(q, maxmsg, msgsize));
    mq_attr a{};
    ASSERT_EQ(::mq_getattr(q.q, &a), 0);
    EXPECT_EQ(a.mq_maxmsg, maxmsg);
    EXPECT_EQ(a.mq_msgsize, msgsize);
  }
}

// mq_open(3): O_CREAT | O_EXCL checks for existence and creates atomically: when processes race
// to create the same names, each name is created exactly once (the others get EEXIST).
TEST(PosixMq, ExclusiveCreateRaceHasOneWinnerPerName) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q14");
  std::vector<std::string> names;
  for (int i = 0; i < 32; ++i) names.push_back(unique_name());
  Cleanup unlink_all([&names] {
    for (const auto& n : names) ::mq_unlink(n.c_str());
  });
  auto wins = exclusive_create_race(4, names, [](const std::string& name) {
    mqd_t q = open_mq(name, O_RDWR | O_CREAT | O_EXCL, 2, 8);
    if (q == static_cast<mqd_t>(-1)) return errno;
    ::mq_close(q);
    return 0;
  });
  ASSERT_EQ(wins.size(), names.size()) << "a racer failed otherwise than with EEXIST";
  for (size_t i = 0; i < wins.size(); ++i) EXPECT_EQ(wins[i], 1) << "name " << i;
}

// mq_open(3): EMFILE when the per-process descriptor limit is reached, here RLIMIT_NOFILE 0 (in
// a child): for an existing queue, and with O_CREAT for a new one, which is then not made.
TEST(PosixMq, OpenWithNoDescriptorAllowedFailsEmfile) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q07");
  MqQueue q, fresh;
  ASSERT_TRUE(make_queue(q));
  std::string name = q.name, other = fresh.name;
  auto r = run_in_child([&name, &other] {
    if (mq_open_errno(name, O_RDWR) != 0) return child_fail(1, "mq_open before the limit");
    long old = lowest_free_fd() + 16;
    if (!set_nofile_limit(0)) return child_fail(kSetupFailed, "setrlimit 0");
    int existing = mq_open_errno(name, O_RDWR);
    int created = mq_open_errno(other, O_RDWR | O_CREAT | O_EXCL);
    if (!set_nofile_limit(old)) return kSetupFailed;
    if (existing != EMFILE) return 2;
    if (created != EMFILE) return 3;
    return mq_open_errno(other, O_RDWR) == ENOENT ? 0 : 4;
  });
  EXPECT_CHILD_OK(r) << " (2, 3: no EMFILE; 4: the failed O_CREAT made the queue)";
}

// mq_close(3): 0 on success; EBADF for a descriptor already closed, -1 and a huge one.
TEST(PosixMq, CloseOfClosedOrInvalidDescriptorFailsEbadf) {
  CONFORM_MAN("mq_close(3)");
  CONFORM_ROWS("Q18");
  MqQueue q;
  ASSERT_TRUE(make_queue(q));
  EXPECT_EQ(::mq_close(q.q), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::mq_close(q.q)), EBADF);
  q.q = static_cast<mqd_t>(-1);
  EXPECT_EQ(failed_with(::mq_close(static_cast<mqd_t>(-1))), EBADF);
  EXPECT_EQ(failed_with(::mq_close(static_cast<mqd_t>(INT_MAX - 1))), EBADF);
}

// mq_send(3), mq_receive(3), mq_notify(3), mq_getattr(3): EBADF for a descriptor that is not a
// valid queue descriptor: -1, INT_MAX - 1, a directory's descriptor, a closed queue descriptor.
TEST(PosixMq, BadDescriptorsFailEbadf) {
  CONFORM_MAN("mq_send(3)");
  CONFORM_ROWS("Q20 Q27 Q45");
  TempDir dir;
  Fd directory(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_GE(directory.get(), 0);
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  mqd_t closed = q.q;
  ASSERT_EQ(::mq_close(q.q), 0);
  q.q = static_cast<mqd_t>(-1);
  for (mqd_t bad : {static_cast<mqd_t>(-1), static_cast<mqd_t>(INT_MAX - 1),
                    static_cast<mqd_t>(directory.get()), closed}) {
    char buf[16];
    sigevent ev{};
    ev.sigev_notify = SIGEV_NONE;
    mq_attr a{};
    EXPECT_EQ(failed_with(::mq_send(bad, "x", 1, 0)), EBADF) << "mq_send " << bad;
    EXPECT_EQ(failed_with(::mq_receive(bad, buf, sizeof buf, nullptr)), EBADF) << bad;
    EXPECT_EQ(failed_with(::mq_notify(bad, &ev)), EBADF) << "mq_notify " << bad;
    EXPECT_EQ(failed_with(::mq_getattr(bad, &a)), EBADF) << "mq_getattr " << bad;
  }
}

// mq_send(3), mq_receive(3): messages are received highest priority first, the oldest first
// within a priority; each receive removes the message and returns its length and priority.
TEST(PosixMq, HighestPriorityOldestFirst) {
  CONFORM_MAN("mq_receive(3)");
  CONFORM_ROWS("Q30 Q36");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 8, 16));
  struct Msg {
    std::string text;
    unsigned prio;
  };
  for (const Msg& m :
       {Msg{"low1", 1}, Msg{"high-1", 7}, Msg{"mid", 3}, Msg{"high-22", 7}, Msg{"low-2", 1}}) {
    ASSERT_EQ(::mq_send(q.q, m.text.data(), m.text.size(), m.prio), 0);
  }
  for (const Msg& want :
       {Msg{"high-1", 7}, Msg{"high-22", 7}, Msg{"mid", 3}, Msg{"low1", 1}, Msg{"low-2", 1}}) {
    char buf[16];
    unsigned prio = 99;
    long n = ::mq_receive(q.q, buf, sizeof buf, &prio);
    ASSERT_EQ(n, static_cast<long>(want.text.size())) << want.text;
    EXPECT_EQ(std::string(buf, n), want.text);
    EXPECT_EQ(prio, want.prio) << want.text;
  }
  EXPECT_EQ(mq_curmsgs(q.q), 0);
}

// mq_send(3): messages of 0, 1 and mq_msgsize (8192) bytes, the last at priority MQ_PRIO_MAX - 1,
// come back intact with their length and priority.
TEST(PosixMq, EmptyOneByteAndFullSizeMessagesRoundTrip) {
  CONFORM_MAN("mq_send(3)");
  CONFORM_ROWS("Q25");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 3, 8192));
  std::string full(8192, '\0');
  for (size_t i = 0; i < full.size(); ++i) full[i] = static_cast<char>(i * 13 % 256);
  ASSERT_EQ(::mq_send(q.q, "", 0, 0), 0);
  ASSERT_EQ(::mq_send(q.q, "1", 1, 1), 0);
  ASSERT_EQ(::mq_send(q.q, full.data(), full.size(), MQ_PRIO_MAX - 1), 0) << std::strerror(errno);
  std::vector<char> buf(8192);
  unsigned prio = 0;
  ASSERT_EQ(::mq_receive(q.q, buf.data(), buf.size(), &prio), 8192);
  EXPECT_EQ(std::string(buf.data(), 8192), full);
  EXPECT_EQ(prio, static_cast<unsigned>(MQ_PRIO_MAX - 1));
  ASSERT_EQ(::mq_receive(q.q, buf.data(), buf.size(), &prio), 1);
  EXPECT_EQ(buf[0], '1');
  EXPECT_EQ(prio, 1u);
  EXPECT_EQ(::mq_receive(q.q, buf.data(), buf.size(), &prio), 0);
  EXPECT_EQ(prio, 0u);
}

// mq_send(3): EINVAL if msg_prio is MQ_PRIO_MAX (32768 on Linux, as sysconf says) or more,
// from mq_send and mq_timedsend; MQ_PRIO_MAX - 1 is accepted.
TEST(PosixMq, PriorityAtOrAboveMqPrioMaxFailsEinval) {
  CONFORM_MAN("mq_send(3)");
  CONFORM_ROWS("Q29");
  EXPECT_EQ(::sysconf(_SC_MQ_PRIO_MAX), 32768);
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  timespec later = clock_in(CLOCK_REALTIME, 1000);
  for (unsigned prio : {32768u, 32769u, 1u << 31}) {
    EXPECT_EQ(failed_with(::mq_send(q.q, "x", 1, prio)), EINVAL) << prio;
    EXPECT_EQ(failed_with(::mq_timedsend(q.q, "x", 1, prio, &later)), EINVAL) << prio;
  }
  EXPECT_EQ(mq_curmsgs(q.q), 0);
  EXPECT_EQ(::mq_send(q.q, "x", 1, 32767), 0) << std::strerror(errno);
}

// mq_overview(7), mq_receive(3): each receive returns exactly one message with its own length,
// including a zero-length one.
TEST(PosixMq, MessageBoundariesKept) {
  CONFORM_MAN("mq_receive(3)");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16, {"hello", "", "ab"}));
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 0);
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 2);
}

}  // namespace
}  // namespace ipcb::conform
