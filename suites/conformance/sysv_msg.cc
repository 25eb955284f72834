// Does a System V message queue (msgget(2), msgsnd(2)/msgrcv(2), msgctl(2)) behave as
// documented here: lifetime, errors, would-block and EINTR, type selection, limits, permissions.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

constexpr int kSetupFailed = 250;  // a child's exit code when it could not set up its check
constexpr int kChildTimeoutMs = 3000;
constexpr int kCapSysResource = 24;  // CAP_SYS_RESOURCE, capability(7)

int failed_with(long rc) {
  return rc == -1 ? errno : 0;
}
std::string exited_with(int code) {
  return "child exited with " + std::to_string(code);
}

void remove_key(key_t key) {
  int id = ::msgget(key, 0);
  if (id >= 0) ::msgctl(id, IPC_RMID, nullptr);
}

// One test's queue: a fresh key, created exclusively, removed on every path.
class Queue {
 public:
  explicit Queue(int mode = 0600) : key_(unique_key()) {
    id_ = ::msgget(key_, IPC_CREAT | IPC_EXCL | mode);
    err_ = errno;
  }
  ~Queue() {
    if (id_ >= 0) ::msgctl(id_, IPC_RMID, nullptr);
    remove_key(key_);
  }
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  key_t key() const { return key_; }
  int id() const { return id_; }
  std::string error() const { return std::strerror(err_); }

 private:
  key_t key_;
  int id_ = -1;
  int err_ = 0;
};

// msgsnd of `text` with `type`; -1 and errno on failure.
int send(int id, long type, const std::string& text, int flags = IPC_NOWAIT) {
  std::vector<char> buf(sizeof(long) + text.size());
  std::memcpy(buf.data(), &type, sizeof type);
  std::memcpy(buf.data() + sizeof type, text.data(), text.size());
  return ::msgsnd(id, buf.data(), text.size(), flags);
}

struct Received {
  int err = 0;  // 0 on success
  long type = 0;
  std::string text;
};

Received receive(int id, long type, size_t max, int flags = IPC_NOWAIT) {
  std::vector<char> buf(sizeof(long) + max);
  ssize_t n = ::msgrcv(id, buf.data(), max, type, flags);
  Received r;
  if (n < 0) {
    r.err = errno;
    return r;
  }
  std::memcpy(&r.type, buf.data(), sizeof r.type);
  r.text.assign(buf.data() + sizeof(long), static_cast<size_t>(n));
  return r;
}

msqid_ds stat_of(int id) {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) ADD_FAILURE() << "IPC_STAT: " << std::strerror(errno);
  return ds;
}

// Lowers the queue's msg_qbytes (allowed for the owner) so a test can fill it cheaply.
bool set_qbytes(int id, msglen_t bytes) {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) return false;
  ds.msg_qbytes = bytes;
  return ::msgctl(id, IPC_SET, &ds) == 0;
}

// True once thread `tid` of this process sleeps (state S), as a blocked call leaves it.
bool sleeping(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');
  return p != std::string::npos && p + 2 < s.size() && s[p + 2] == 'S';
}

// Runs `act` on a helper thread once the constructing thread has blocked (at most 2 s later).
class WhenBlocked {
 public:
  explicit WhenBlocked(std::function<void()> act)
      : t_([tid = ::gettid(), act = std::move(act)] {
          auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
          while (!sleeping(tid) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          act();
        }) {}
  ~WhenBlocked() { t_.join(); }

 private:
  std::thread t_;
};

ChildResult unprivileged(const std::function<int()>& fn) {
  return run_in_child([&] { return is_root() && !drop_to_nobody() ? kSetupFailed : fn(); });
}
ChildResult as_nobody(const std::function<int()>& fn) {
  return run_in_child([&] { return drop_to_nobody() ? fn() : kSetupFailed; });
}

// The queue the type-selection tests read: (type, text) in send order.
void fill_sample(int id) {
  const std::pair<long, const char*> sample[] = {{3, "a"}, {2, "b"}, {4, "c"}, {2, "d"}};
  for (const auto& [type, text] : sample)
    ASSERT_EQ(send(id, type, text), 0) << std::strerror(errno);
}

// msgrcv(2) with `msgtyp` and `flags` on the sample queue takes the message `want_text`.
void expect_selects(long msgtyp, int flags, long want_type, const std::string& want_text) {
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  Received r = receive(q.id(), msgtyp, 16, IPC_NOWAIT | flags);
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.type, want_type);
  EXPECT_EQ(r.text, want_text);
  EXPECT_EQ(stat_of(q.id()).msg_qnum, 3u);
}

}  // namespace

// msgget(2): IPC_CREAT|IPC_EXCL on a key that has a queue fails with EEXIST.
TEST(SysvMsg, ExclusiveCreateOnExistingKeyFailsEexist) {
  CONFORM_MAN("msgget(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  EXPECT_EQ(failed_with(::msgget(q.key(), IPC_CREAT | IPC_EXCL | 0600)), EEXIST);
}

// msgget(2): without IPC_CREAT, a key with no queue fails with ENOENT.
TEST(SysvMsg, OpenMissingKeyWithoutCreateFailsEnoent) {
  CONFORM_MAN("msgget(2)");
  EXPECT_EQ(failed_with(::msgget(unique_key(), 0600)), ENOENT);
}

// msgget(2): a new queue's msg_qbytes is the system limit MSGMNB (kernel.msgmnb).
TEST(SysvMsg, NewQueueCapacityIsMsgmnb) {
  CONFORM_MAN("msgget(2)");
  auto msgmnb = read_sysctl("kernel.msgmnb");
  if (!msgmnb) CONFORM_SKIP("kernel.msgmnb is not readable");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  EXPECT_EQ(static_cast<long long>(stat_of(q.id()).msg_qbytes), *msgmnb);
}

// msgget(2)/msgctl(2): a queue and its messages persist after the creator exits.
TEST(SysvMsg, PersistsAfterCreatorExits) {
  CONFORM_MAN("msgget(2)");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  ChildResult r = run_in_child([key] {
    int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    return id >= 0 && send(id, 1, "left behind") == 0 ? 0 : kSetupFailed;
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  int id = ::msgget(key, 0);
  ASSERT_GE(id, 0) << "queue gone with its creator: " << std::strerror(errno);
  EXPECT_EQ(receive(id, 0, 64).text, "left behind");
}

// msgctl(2): IPC_RMID removes the queue at once, messages included: the key no longer finds it
// and the id is invalid (EINVAL).
TEST(SysvMsg, IpcRmidIsImmediate) {
  CONFORM_MAN("msgctl(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(send(q.id(), 1, "pending"), 0) << std::strerror(errno);
  ASSERT_EQ(::msgctl(q.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::msgget(q.key(), 0)), ENOENT);
  EXPECT_EQ(receive(q.id(), 0, 64).err, EINVAL);
}

// msgrcv(2): a receiver sleeping on the queue when it is removed fails with EIDRM.
TEST(SysvMsg, IpcRmidWakesBlockedReceiverWithEidrm) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ChildResult r = run_in_child(
      [&q] {
        WhenBlocked rm([&q] { ::msgctl(q.id(), IPC_RMID, nullptr); });
        return receive(q.id(), 0, 16, 0).err;
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EIDRM));
}

// msgsnd(2): a sender sleeping on a full queue when it is removed fails with EIDRM.
TEST(SysvMsg, IpcRmidWakesBlockedSenderWithEidrm) {
  CONFORM_MAN("msgsnd(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_TRUE(set_qbytes(q.id(), 8)) << std::strerror(errno);
  ASSERT_EQ(send(q.id(), 1, "12345678"), 0) << std::strerror(errno);
  ChildResult r = run_in_child(
      [&q] {
        WhenBlocked rm([&q] { ::msgctl(q.id(), IPC_RMID, nullptr); });
        return failed_with(send(q.id(), 1, "x", 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EIDRM));
}

// msgrcv(2): with IPC_NOWAIT and no message of the requested type, fails with ENOMSG.
TEST(SysvMsg, NowaitReceiveWithoutMatchFailsEnomsg) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  EXPECT_EQ(receive(q.id(), 0, 16).err, ENOMSG);
  ASSERT_EQ(send(q.id(), 5, "five"), 0) << std::strerror(errno);
  EXPECT_EQ(receive(q.id(), 6, 16).err, ENOMSG);
}

// msgsnd(2): a queue holds up to msg_qbytes bytes; exactly filling it succeeds, and a send past
// it with IPC_NOWAIT fails with EAGAIN.
TEST(SysvMsg, FullQueueWithNowaitFailsEagain) {
  CONFORM_MAN("msgsnd(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_TRUE(set_qbytes(q.id(), 64)) << std::strerror(errno);
  EXPECT_EQ(send(q.id(), 1, std::string(64, 'f')), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(send(q.id(), 1, "x")), EAGAIN);
}

// msgsnd(2): without IPC_NOWAIT a sender on a full queue blocks until space frees up.
TEST(SysvMsg, SenderOnFullQueueBlocksUntilSpaceFrees) {
  CONFORM_MAN("msgsnd(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_TRUE(set_qbytes(q.id(), 8)) << std::strerror(errno);
  ASSERT_EQ(send(q.id(), 1, "first..."), 0) << std::strerror(errno);
  ChildResult r = run_in_child(
      [&q] {
        WhenBlocked drain([&q] { receive(q.id(), 0, 16); });
        return failed_with(send(q.id(), 2, "second..", 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(0));
  Received left = receive(q.id(), 0, 16);
  EXPECT_EQ(left.type, 2);
  EXPECT_EQ(stat_of(q.id()).msg_qnum, 0u);
}

// msgsnd(2): MSGMAX (kernel.msgmax) is the largest message: exactly at it succeeds, one byte
// more fails with EINVAL.
TEST(SysvMsg, SendExactlyAtMsgmaxSucceedsOnePastFailsEinval) {
  CONFORM_MAN("msgsnd(2)");
  auto msgmax = read_sysctl("kernel.msgmax");
  if (!msgmax) CONFORM_SKIP("kernel.msgmax is not readable");
  if (*msgmax > (1 << 24)) CONFORM_SKIP("kernel.msgmax is above 16 MiB: too large to send safely");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  if (static_cast<long long>(stat_of(q.id()).msg_qbytes) < *msgmax) {
    CONFORM_SKIP("kernel.msgmnb is below kernel.msgmax: a message of msgmax bytes cannot fit");
  }
  auto at = static_cast<size_t>(*msgmax);
  EXPECT_EQ(send(q.id(), 1, std::string(at, 'm')), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(send(q.id(), 1, std::string(at + 1, 'm'))), EINVAL);
}

// msgsnd(2): a nonpositive mtype fails with EINVAL.
TEST(SysvMsg, NonpositiveTypeFailsEinval) {
  CONFORM_MAN("msgsnd(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  EXPECT_EQ(failed_with(send(q.id(), 0, "zero")), EINVAL);
  EXPECT_EQ(failed_with(send(q.id(), -1, "negative")), EINVAL);
}

// msgrcv(2): a msgsz below 0 fails with EINVAL.
TEST(SysvMsg, NegativeReceiveSizeFailsEinval) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  long buf[4] = {};
  EXPECT_EQ(failed_with(::msgrcv(q.id(), buf, static_cast<size_t>(-1), 0, IPC_NOWAIT)), EINVAL);
}

// msgrcv(2): a message longer than msgsz, without MSG_NOERROR, fails with E2BIG and stays on
// the queue.
TEST(SysvMsg, ReceiveTooSmallFailsE2bigAndKeepsMessage) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(send(q.id(), 1, "0123456789"), 0) << std::strerror(errno);
  EXPECT_EQ(receive(q.id(), 0, 5).err, E2BIG);
  EXPECT_EQ(stat_of(q.id()).msg_qnum, 1u);
}

// msgrcv(2): with MSG_NOERROR a longer message is truncated to msgsz and the rest is lost.
TEST(SysvMsg, MsgNoerrorTruncates) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(send(q.id(), 1, "0123456789"), 0) << std::strerror(errno);
  Received r = receive(q.id(), 0, 5, IPC_NOWAIT | MSG_NOERROR);
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.text, "01234");
  EXPECT_EQ(stat_of(q.id()).msg_qnum, 0u);
}

// msgrcv(2): each call returns one whole message; boundaries are kept.
TEST(SysvMsg, MessageBoundariesArePreserved) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(send(q.id(), 1, "abc"), 0);
  ASSERT_EQ(send(q.id(), 1, "defgh"), 0);
  ASSERT_EQ(send(q.id(), 1, ""), 0);
  EXPECT_EQ(receive(q.id(), 0, 64).text, "abc");
  EXPECT_EQ(receive(q.id(), 0, 64).text, "defgh");
  Received empty = receive(q.id(), 0, 64);
  EXPECT_EQ(empty.err, 0);
  EXPECT_EQ(empty.text, "");
}

// msgrcv(2): msgtyp 0 reads the first message in the queue.
TEST(SysvMsg, TypeZeroTakesFirstMessage) {
  CONFORM_MAN("msgrcv(2)");
  expect_selects(0, 0, 3, "a");
}

// msgrcv(2): msgtyp > 0 reads the first message of that type.
TEST(SysvMsg, PositiveTypeTakesFirstOfThatType) {
  CONFORM_MAN("msgrcv(2)");
  expect_selects(2, 0, 2, "b");
}

// msgrcv(2): msgtyp < 0 reads the first message of the lowest type <= |msgtyp|.
TEST(SysvMsg, NegativeTypeTakesLowestTypeUpToAbs) {
  CONFORM_MAN("msgrcv(2)");
  expect_selects(-3, 0, 2, "b");
}

// msgrcv(2): with MSG_EXCEPT and msgtyp > 0, reads the first message not of that type.
TEST(SysvMsg, MsgExceptTakesFirstOfAnotherType) {
  CONFORM_MAN("msgrcv(2)");
  expect_selects(3, MSG_EXCEPT, 2, "b");
}

// msgrcv(2): messages of one type come out in the order they were sent.
TEST(SysvMsg, MessagesOfOneTypeAreFifo) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  EXPECT_EQ(receive(q.id(), 2, 16).text, "b");
  EXPECT_EQ(receive(q.id(), 2, 16).text, "d");
}

// msgrcv(2): with MSG_COPY|IPC_NOWAIT, msgtyp is a position: a copy of that message is read
// and the queue is unchanged.
TEST(SysvMsg, MsgCopyReadsByPositionWithoutRemoving) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  Received r = receive(q.id(), 2, 16, IPC_NOWAIT | MSG_COPY);
  if (r.err == ENOSYS) CONFORM_SKIP("MSG_COPY: kernel built without CONFIG_CHECKPOINT_RESTORE");
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.text, "c");
  EXPECT_EQ(stat_of(q.id()).msg_qnum, 4u);
  EXPECT_EQ(receive(q.id(), 4, 16, IPC_NOWAIT | MSG_COPY).err, ENOMSG);  // past the last
}

// msgrcv(2): MSG_COPY without IPC_NOWAIT, or with MSG_EXCEPT, fails with EINVAL.
TEST(SysvMsg, MsgCopyWithoutNowaitFailsEinval) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(send(q.id(), 1, "one"), 0);
  EXPECT_EQ(receive(q.id(), 0, 16, MSG_COPY).err, EINVAL);
  EXPECT_EQ(receive(q.id(), 0, 16, IPC_NOWAIT | MSG_COPY | MSG_EXCEPT).err, EINVAL);
}

// msgrcv(2): a receiver sleeping on an empty queue that catches a signal fails with EINTR.
TEST(SysvMsg, BlockedReceiveInterruptedBySignalFailsEintr) {
  CONFORM_MAN("msgrcv(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ChildResult r = run_in_child(
      [&q] {
        InterruptingSignal sig(SIGUSR1);
        sig.send_after(30);
        return receive(q.id(), 0, 16, 0).err;
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EINTR));
}

// msgsnd(2): a sender sleeping on a full queue that catches a signal fails with EINTR.
TEST(SysvMsg, BlockedSendInterruptedBySignalFailsEintr) {
  CONFORM_MAN("msgsnd(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_TRUE(set_qbytes(q.id(), 8)) << std::strerror(errno);
  ASSERT_EQ(send(q.id(), 1, "12345678"), 0) << std::strerror(errno);
  ChildResult r = run_in_child(
      [&q] {
        InterruptingSignal sig(SIGUSR1);
        sig.send_after(30);
        return failed_with(send(q.id(), 1, "x", 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EINTR));
}

// msgctl(2): msg_qnum and msg_cbytes count what is queued; msg_lspid / msg_lrpid are the PIDs of
// the last msgsnd / msgrcv.
TEST(SysvMsg, StatCountsMessagesAndRecordsPids) {
  CONFORM_MAN("msgctl(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ChildResult r = run_in_child([&q] { return send(q.id(), 1, "from child") == 0 ? 0 : 1; });
  ASSERT_EQ(r.describe(), exited_with(0));
  msqid_ds ds = stat_of(q.id());
  EXPECT_EQ(ds.msg_qnum, 1u);
  EXPECT_EQ(ds.msg_cbytes, 10u);
  EXPECT_NE(ds.msg_lspid, ::getpid());
  EXPECT_NE(ds.msg_lspid, 0);
  ASSERT_EQ(receive(q.id(), 0, 16).err, 0);
  ds = stat_of(q.id());
  EXPECT_EQ(ds.msg_qnum, 0u);
  EXPECT_EQ(ds.msg_cbytes, 0u);
  EXPECT_EQ(ds.msg_lrpid, ::getpid());
}

// msgsnd(2): an inaccessible msgp fails with EFAULT.
TEST(SysvMsg, SendFromBadBufferFailsEfault) {
  CONFORM_MAN("msgsnd(2)");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  long page = ::sysconf(_SC_PAGESIZE);
  void* p = ::mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  Cleanup unmap([p, page] { ::munmap(p, page); });
  EXPECT_EQ(failed_with(::msgsnd(q.id(), p, 8, IPC_NOWAIT)), EFAULT);
}

// msgctl(2)/msgsnd(2): an invalid msqid or cmd fails with EINVAL.
TEST(SysvMsg, InvalidIdOrCommandFailsEinval) {
  CONFORM_MAN("msgctl(2)");
  msqid_ds ds{};
  EXPECT_EQ(failed_with(::msgctl(-1, IPC_STAT, &ds)), EINVAL);
  EXPECT_EQ(failed_with(send(-1, 1, "x")), EINVAL);
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  EXPECT_EQ(failed_with(::msgctl(q.id(), 12345, &ds)), EINVAL);
}

// msgctl(2): raising msg_qbytes above MSGMNB without CAP_SYS_RESOURCE fails with EPERM.
TEST(SysvMsg, UnprivilegedRaiseAboveMsgmnbFailsEperm) {
  CONFORM_MAN("msgctl(2)");
  auto msgmnb = read_sysctl("kernel.msgmnb");
  if (!msgmnb) CONFORM_SKIP("kernel.msgmnb is not readable");
  if (!is_root() && has_capability(kCapSysResource))
    CONFORM_SKIP("this user holds CAP_SYS_RESOURCE");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  ChildResult r = unprivileged([key, &msgmnb] {
    int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) return kSetupFailed;
    Cleanup rm([id] { ::msgctl(id, IPC_RMID, nullptr); });
    return set_qbytes(id, static_cast<msglen_t>(*msgmnb + 1)) ? 0 : errno;
  });
  EXPECT_EQ(r.describe(), exited_with(EPERM));
}

// msgctl(2): a caller with CAP_SYS_RESOURCE may raise msg_qbytes above MSGMNB.
TEST(SysvMsg, PrivilegedRaiseAboveMsgmnbSucceeds) {
  CONFORM_MAN("msgctl(2)");
  if (!has_capability(kCapSysResource))
    CONFORM_SKIP((is_root() ? "needs CAP_SYS_RESOURCE, which this root process lacks"
                            : "needs CAP_SYS_RESOURCE (run as root)"));
  auto msgmnb = read_sysctl("kernel.msgmnb");
  if (!msgmnb) CONFORM_SKIP("kernel.msgmnb is not readable");
  Queue q;
  ASSERT_GE(q.id(), 0) << q.error();
  auto raised = static_cast<msglen_t>(*msgmnb + 1);
  ASSERT_TRUE(set_qbytes(q.id(), raised)) << std::strerror(errno);
  EXPECT_EQ(stat_of(q.id()).msg_qbytes, raised);
}

// msgctl(2): IPC_SET by the owner changes the permission bits of msg_perm.mode.
TEST(SysvMsg, IpcSetByOwnerChangesMode) {
  CONFORM_MAN("msgctl(2)");
  Queue q(0600);
  ASSERT_GE(q.id(), 0) << q.error();
  msqid_ds ds = stat_of(q.id());
  ds.msg_perm.mode = 0620;
  ASSERT_EQ(::msgctl(q.id(), IPC_SET, &ds), 0) << std::strerror(errno);
  EXPECT_EQ(stat_of(q.id()).msg_perm.mode & 0777, 0620);
}

// msgsnd(2)/msgrcv(2)/msgctl(2): mode bits bind the owner too: without read permission msgrcv
// and IPC_STAT fail with EACCES; without write permission msgsnd does.
TEST(SysvMsg, OwnerWithoutPermissionGetsEacces) {
  CONFORM_MAN("msgrcv(2)");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  ChildResult r = unprivileged([key] {
    int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0200);
    if (id < 0) return kSetupFailed;
    Cleanup rm([id] { ::msgctl(id, IPC_RMID, nullptr); });
    if (send(id, 1, "w") != 0) return 1;
    if (receive(id, 0, 16).err != EACCES) return 2;
    msqid_ds ds{};
    if (failed_with(::msgctl(id, IPC_STAT, &ds)) != EACCES) return 3;
    ds.msg_perm.uid = ::geteuid();
    ds.msg_perm.gid = ::getegid();
    ds.msg_perm.mode = 0400;
    ds.msg_qbytes = 64;
    if (::msgctl(id, IPC_SET, &ds) != 0) return 4;
    return failed_with(send(id, 1, "w")) == EACCES ? 0 : 5;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
}

// msgsnd(2)/msgrcv(2): another user without permission on a 0600 queue gets EACCES.
TEST(SysvMsg, OtherUserWithoutPermissionGetsEacces) {
  CONFORM_MAN("msgsnd(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  Queue q(0600);
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(send(q.id(), 1, "private"), 0);
  ChildResult snd = as_nobody([&q] { return failed_with(send(q.id(), 1, "x")); });
  EXPECT_EQ(snd.describe(), exited_with(EACCES));
  ChildResult rcv = as_nobody([&q] { return receive(q.id(), 0, 16).err; });
  EXPECT_EQ(rcv.describe(), exited_with(EACCES));
  EXPECT_EQ(stat_of(q.id()).msg_qnum, 1u);
}

// msgctl(2): IPC_SET and IPC_RMID by a user that is neither creator nor owner fail with EPERM.
TEST(SysvMsg, ControlByNonOwnerFailsEperm) {
  CONFORM_MAN("msgctl(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  Queue q(0666);
  ASSERT_GE(q.id(), 0) << q.error();
  ChildResult set = as_nobody([&q] {
    msqid_ds ds{};
    if (::msgctl(q.id(), IPC_STAT, &ds) != 0) return kSetupFailed;
    return failed_with(::msgctl(q.id(), IPC_SET, &ds));
  });
  EXPECT_EQ(set.describe(), exited_with(EPERM));
  ChildResult rm = as_nobody([&q] { return failed_with(::msgctl(q.id(), IPC_RMID, nullptr)); });
  EXPECT_EQ(rm.describe(), exited_with(EPERM));
  EXPECT_GE(::msgget(q.key(), 0), 0) << "the queue is gone";
}

}  // namespace ipcb::conform
