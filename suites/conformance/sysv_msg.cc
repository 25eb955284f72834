// Does a System V message queue (msgget(2), msgsnd(2)/msgrcv(2), msgctl(2)) behave as
// documented here: lifetime, errors, would-block and EINTR, limits, permissions. Which message
// msgrcv(2) takes (types, sizes, MSG_COPY) is in sysv_msg_receive.cc.
#include <signal.h>
#include <sys/ipc.h>
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

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

constexpr int kChildTimeoutMs = 3000;

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

}  // namespace

// msgget(2): IPC_CREAT|IPC_EXCL on a key that has a queue fails with EEXIST.
TEST(SysvMsg, ExclusiveCreateOnExistingKeyFailsEexist) {
  CONFORM_MAN("msgget(2)");
  MsgQueue q;
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
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  EXPECT_EQ(static_cast<long long>(msg_stat(q.id()).msg_qbytes), *msgmnb);
}

// msgget(2)/msgctl(2): a queue and its messages persist after the creator exits.
TEST(SysvMsg, PersistsAfterCreatorExits) {
  CONFORM_MAN("msgget(2)");
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kMsg, key);
  ChildResult r = run_in_child([key] {
    int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    return id >= 0 && msg_send(id, 1, "left behind") == 0 ? 0 : kSetupFailed;
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  int id = ::msgget(key, 0);
  ASSERT_GE(id, 0) << "queue gone with its creator: " << std::strerror(errno);
  EXPECT_EQ(msg_receive(id, 0, 64).text, "left behind");
}

// msgctl(2): IPC_RMID removes the queue at once, messages included: the key no longer finds it
// and the id is invalid (EINVAL).
TEST(SysvMsg, IpcRmidIsImmediate) {
  CONFORM_MAN("msgctl(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(msg_send(q.id(), 1, "pending"), 0) << std::strerror(errno);
  ASSERT_EQ(::msgctl(q.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::msgget(q.key(), 0)), ENOENT);
  EXPECT_EQ(msg_receive(q.id(), 0, 64).err, EINVAL);
}

// msgrcv(2): a receiver sleeping on the queue when it is removed fails with EIDRM.
TEST(SysvMsg, IpcRmidWakesBlockedReceiverWithEidrm) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ChildResult r = run_in_child(
      [&q] {
        WhenBlocked rm([&q] { ::msgctl(q.id(), IPC_RMID, nullptr); });
        return msg_receive(q.id(), 0, 16, 0).err;
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EIDRM));
}

// msgsnd(2): a sender sleeping on a full queue when it is removed fails with EIDRM.
TEST(SysvMsg, IpcRmidWakesBlockedSenderWithEidrm) {
  CONFORM_MAN("msgsnd(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_TRUE(set_qbytes(q.id(), 8)) << std::strerror(errno);
  ASSERT_EQ(msg_send(q.id(), 1, "12345678"), 0) << std::strerror(errno);
  ChildResult r = run_in_child(
      [&q] {
        WhenBlocked rm([&q] { ::msgctl(q.id(), IPC_RMID, nullptr); });
        return failed_with(msg_send(q.id(), 1, "x", 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EIDRM));
}

// msgsnd(2): a queue holds up to msg_qbytes bytes; exactly filling it succeeds, and a send past
// it with IPC_NOWAIT fails with EAGAIN.
TEST(SysvMsg, FullQueueWithNowaitFailsEagain) {
  CONFORM_MAN("msgsnd(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_TRUE(set_qbytes(q.id(), 64)) << std::strerror(errno);
  EXPECT_EQ(msg_send(q.id(), 1, std::string(64, 'f')), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(msg_send(q.id(), 1, "x")), EAGAIN);
}

// msgsnd(2): without IPC_NOWAIT a sender on a full queue blocks until space frees up.
TEST(SysvMsg, SenderOnFullQueueBlocksUntilSpaceFrees) {
  CONFORM_MAN("msgsnd(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_TRUE(set_qbytes(q.id(), 8)) << std::strerror(errno);
  ASSERT_EQ(msg_send(q.id(), 1, "first..."), 0) << std::strerror(errno);
  ChildResult r = run_in_child(
      [&q] {
        WhenBlocked drain([&q] { msg_receive(q.id(), 0, 16); });
        return failed_with(msg_send(q.id(), 2, "second..", 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(0));
  Received left = msg_receive(q.id(), 0, 16);
  EXPECT_EQ(left.type, 2);
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 0u);
}

// msgsnd(2): MSGMAX (kernel.msgmax) is the largest message: exactly at it succeeds, one byte
// more fails with EINVAL.
TEST(SysvMsg, SendExactlyAtMsgmaxSucceedsOnePastFailsEinval) {
  CONFORM_MAN("msgsnd(2)");
  auto msgmax = read_sysctl("kernel.msgmax");
  if (!msgmax) CONFORM_SKIP("kernel.msgmax is not readable");
  if (*msgmax > (1 << 24)) CONFORM_SKIP("kernel.msgmax is above 16 MiB: too large to send safely");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  if (static_cast<long long>(msg_stat(q.id()).msg_qbytes) < *msgmax) {
    CONFORM_SKIP("kernel.msgmnb is below kernel.msgmax: a message of msgmax bytes cannot fit");
  }
  auto at = static_cast<size_t>(*msgmax);
  EXPECT_EQ(msg_send(q.id(), 1, std::string(at, 'm')), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(msg_send(q.id(), 1, std::string(at + 1, 'm'))), EINVAL);
}

// msgsnd(2): a nonpositive mtype fails with EINVAL.
TEST(SysvMsg, NonpositiveTypeFailsEinval) {
  CONFORM_MAN("msgsnd(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  EXPECT_EQ(failed_with(msg_send(q.id(), 0, "zero")), EINVAL);
  EXPECT_EQ(failed_with(msg_send(q.id(), -1, "negative")), EINVAL);
}

// msgrcv(2): a receiver sleeping on an empty queue that catches a signal fails with EINTR.
TEST(SysvMsg, BlockedReceiveInterruptedBySignalFailsEintr) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ChildResult r = run_in_child(
      [&q] {
        InterruptingSignal sig(SIGUSR1);
        sig.send_after(30);
        return msg_receive(q.id(), 0, 16, 0).err;
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EINTR));
}

// msgsnd(2): a sender sleeping on a full queue that catches a signal fails with EINTR.
TEST(SysvMsg, BlockedSendInterruptedBySignalFailsEintr) {
  CONFORM_MAN("msgsnd(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_TRUE(set_qbytes(q.id(), 8)) << std::strerror(errno);
  ASSERT_EQ(msg_send(q.id(), 1, "12345678"), 0) << std::strerror(errno);
  ChildResult r = run_in_child(
      [&q] {
        InterruptingSignal sig(SIGUSR1);
        sig.send_after(30);
        return failed_with(msg_send(q.id(), 1, "x", 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EINTR));
}

// msgctl(2): msg_qnum and msg_cbytes count what is queued; msg_lspid / msg_lrpid are the PIDs of
// the last msgsnd / msgrcv.
TEST(SysvMsg, StatCountsMessagesAndRecordsPids) {
  CONFORM_MAN("msgctl(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ChildResult r = run_in_child([&q] { return msg_send(q.id(), 1, "from child") == 0 ? 0 : 1; });
  ASSERT_EQ(r.describe(), exited_with(0));
  msqid_ds ds = msg_stat(q.id());
  EXPECT_EQ(ds.msg_qnum, 1u);
  EXPECT_EQ(ds.msg_cbytes, 10u);
  EXPECT_NE(ds.msg_lspid, ::getpid());
  EXPECT_NE(ds.msg_lspid, 0);
  ASSERT_EQ(msg_receive(q.id(), 0, 16).err, 0);
  ds = msg_stat(q.id());
  EXPECT_EQ(ds.msg_qnum, 0u);
  EXPECT_EQ(ds.msg_cbytes, 0u);
  EXPECT_EQ(ds.msg_lrpid, ::getpid());
}

// msgsnd(2): an inaccessible msgp fails with EFAULT.
TEST(SysvMsg, SendFromBadBufferFailsEfault) {
  CONFORM_MAN("msgsnd(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(::msgsnd(q.id(), page.get(), 8, IPC_NOWAIT)), EFAULT);
}

// msgctl(2)/msgsnd(2): an invalid msqid or cmd fails with EINVAL.
TEST(SysvMsg, InvalidIdOrCommandFailsEinval) {
  CONFORM_MAN("msgctl(2)");
  msqid_ds ds{};
  EXPECT_EQ(failed_with(::msgctl(-1, IPC_STAT, &ds)), EINVAL);
  EXPECT_EQ(failed_with(msg_send(-1, 1, "x")), EINVAL);
  MsgQueue q;
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
  Cleanup sweep = sweep_key(Sysv::kMsg, key);
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
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  auto raised = static_cast<msglen_t>(*msgmnb + 1);
  ASSERT_TRUE(set_qbytes(q.id(), raised)) << std::strerror(errno);
  EXPECT_EQ(msg_stat(q.id()).msg_qbytes, raised);
}

// msgctl(2): IPC_SET by the owner changes the permission bits of msg_perm.mode.
TEST(SysvMsg, IpcSetByOwnerChangesMode) {
  CONFORM_MAN("msgctl(2)");
  MsgQueue q(0600);
  ASSERT_GE(q.id(), 0) << q.error();
  msqid_ds ds = msg_stat(q.id());
  ds.msg_perm.mode = 0620;
  ASSERT_EQ(::msgctl(q.id(), IPC_SET, &ds), 0) << std::strerror(errno);
  EXPECT_EQ(msg_stat(q.id()).msg_perm.mode & 0777, 0620);
}

// msgsnd(2)/msgrcv(2)/msgctl(2): mode bits bind the owner too: without read permission msgrcv
// and IPC_STAT fail with EACCES; without write permission msgsnd does.
TEST(SysvMsg, OwnerWithoutPermissionGetsEacces) {
  CONFORM_MAN("msgrcv(2)");
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kMsg, key);
  ChildResult r = unprivileged([key] {
    int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0200);
    if (id < 0) return kSetupFailed;
    Cleanup rm([id] { ::msgctl(id, IPC_RMID, nullptr); });
    if (msg_send(id, 1, "w") != 0) return 1;
    if (msg_receive(id, 0, 16).err != EACCES) return 2;
    msqid_ds ds{};
    if (failed_with(::msgctl(id, IPC_STAT, &ds)) != EACCES) return 3;
    ds.msg_perm.uid = ::geteuid();
    ds.msg_perm.gid = ::getegid();
    ds.msg_perm.mode = 0400;
    ds.msg_qbytes = 64;
    if (::msgctl(id, IPC_SET, &ds) != 0) return 4;
    return failed_with(msg_send(id, 1, "w")) == EACCES ? 0 : 5;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
}

// msgsnd(2)/msgrcv(2): another user without permission on a 0600 queue gets EACCES.
TEST(SysvMsg, OtherUserWithoutPermissionGetsEacces) {
  CONFORM_MAN("msgsnd(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  MsgQueue q(0600);
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(msg_send(q.id(), 1, "private"), 0);
  ChildResult snd = as_nobody([&q] { return failed_with(msg_send(q.id(), 1, "x")); });
  EXPECT_EQ(snd.describe(), exited_with(EACCES));
  ChildResult rcv = as_nobody([&q] { return msg_receive(q.id(), 0, 16).err; });
  EXPECT_EQ(rcv.describe(), exited_with(EACCES));
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 1u);
}

// msgctl(2): IPC_SET and IPC_RMID by a user that is neither creator nor owner fail with EPERM.
TEST(SysvMsg, ControlByNonOwnerFailsEperm) {
  CONFORM_MAN("msgctl(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  MsgQueue q(0666);
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
