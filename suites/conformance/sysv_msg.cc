// Does a System V message queue (msgget(2), msgsnd(2)/msgrcv(2), msgctl(2)) behave as
// documented here: lifetime, errors, blocking (EINTR, EIDRM, waking), limits. Which message
// msgrcv(2) takes (types, sizes, MSG_COPY) is in sysv_msg_receive.cc, msgctl(2) status and
// permissions in sysv_msg_ctl.cc.
#include <pthread.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

constexpr int kChildTimeoutMs = 3000;
constexpr const char* kBlockedHelp = "(exit 251: the call was never seen blocked)";

// Lowers the queue's msg_qbytes (allowed for the owner) so a test can fill it cheaply.
bool set_qbytes(int id, msglen_t bytes) {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) return false;
  ds.msg_qbytes = bytes;
  return ::msgctl(id, IPC_SET, &ds) == 0;
}

// A sender on a full queue (msg_qbytes 8, holding 8 bytes) or a receiver on an empty one,
// without IPC_NOWAIT, sleeps in the call; what wakes it, once it is seen blocked there:
//   - msgrcv(2), msgsnd(2): the queue's removal: the call fails with EIDRM;
//   - msgsnd(2): a receive that frees space: the message is then queued;
//   - msgrcv(2), msgsnd(2): a signal caught (handler without SA_RESTART): the call fails with
//     EINTR, and a sender's message is not queued.
enum class Wake { kRemove, kReceive, kSignal };
struct BlockedCase {
  CaseInfo info;
  bool send;  // the blocked call is msgsnd (else msgrcv)
  Wake wake;
  int err;  // what the call fails with (0: it succeeds)
};
void blocked_call_woken(const BlockedCase& c) {
  IPCB_SYSV_MAKE(MsgQueue, q);
  if (c.send) {
    ASSERT_TRUE(set_qbytes(q.id(), 8)) << std::strerror(errno);
    ASSERT_EQ(msg_send(q.id(), 1, "first..."), 0) << std::strerror(errno);
  }
  ChildResult r = run_in_child(
      [&q, &c] {
        std::optional<InterruptingSignal> sig;
        if (c.wake == Wake::kSignal) sig.emplace(SIGUSR1);
        pthread_t self = ::pthread_self();
        auto call = [&q, &c] {
          return c.send ? failed_with(msg_send(q.id(), 2, "second..", 0))
                        : msg_receive(q.id(), 0, 16, 0).err;
        };
        auto wake = [&q, &c, self] {
          if (c.wake == Wake::kRemove) ::msgctl(q.id(), IPC_RMID, nullptr);
          if (c.wake == Wake::kReceive) msg_receive(q.id(), 0, 16);
          if (c.wake == Wake::kSignal) ::pthread_kill(self, SIGUSR1);
        };
        return c.send ? when_blocked(call, IPCB_MSGSND_CALLS, wake)
                      : when_blocked(call, IPCB_MSGRCV_CALLS, wake);
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(c.err)) << kBlockedHelp;
  if (c.send && c.wake == Wake::kReceive) {
    Received left = msg_receive(q.id(), 0, 16);
    EXPECT_EQ(left.type, 2);
    EXPECT_EQ(msg_stat(q.id()).msg_qnum, 0u);
  }
  if (c.send && c.wake == Wake::kSignal) {
    EXPECT_EQ(msg_stat(q.id()).msg_qnum, 1u);
  }
}
// clang-format off
const BlockedCase kBlocked[] = {
  {{"IpcRmidWakesBlockedReceiverWithEidrm", "msgrcv(2)", "M28"}, false, Wake::kRemove, EIDRM},
  {{"IpcRmidWakesBlockedSenderWithEidrm", "msgsnd(2)", "M15"}, true, Wake::kRemove, EIDRM},
  {{"SenderOnFullQueueBlocksUntilSpaceFrees", "msgsnd(2)"}, true, Wake::kReceive, 0},
  {{"BlockedReceiveInterruptedBySignalFailsEintr", "msgrcv(2)", "M27"}, false, Wake::kSignal,
   EINTR},
  {{"BlockedSendInterruptedBySignalFailsEintr", "msgsnd(2)", "M14"}, true, Wake::kSignal, EINTR},
};
// clang-format on

}  // namespace

CONFORM_CASES("SysvMsg", kBlocked, blocked_call_woken);

// msgget(2): IPC_CREAT|IPC_EXCL on a key that has a queue fails with EEXIST.
TEST(SysvMsg, ExclusiveCreateOnExistingKeyFailsEexist) {
  CONFORM_MAN("msgget(2)");
  IPCB_SYSV_MAKE(MsgQueue, q);
  EXPECT_EQ(failed_with(::msgget(q.key(), IPC_CREAT | IPC_EXCL | 0600)), EEXIST);
}

// msgget(2): without IPC_CREAT, a key with no queue fails with ENOENT: with msgflg 0 and with
// IPC_EXCL alone (it means nothing without IPC_CREAT).
TEST(SysvMsg, OpenMissingKeyWithoutCreateFailsEnoent) {
  CONFORM_MAN("msgget(2)");
  CONFORM_ROWS("M03");
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kMsg, key);
  EXPECT_EQ(failed_with(::msgget(key, 0)), ENOENT);
  EXPECT_EQ(failed_with(::msgget(key, IPC_EXCL | 0600)), ENOENT);
  EXPECT_EQ(failed_with(::msgget(key, 0600)), ENOENT);
}

// msgget(2): a new queue's msg_qbytes is the system limit MSGMNB (kernel.msgmnb).
TEST(SysvMsg, NewQueueCapacityIsMsgmnb) {
  CONFORM_MAN("msgget(2)");
  auto msgmnb = read_sysctl("kernel.msgmnb");
  if (!msgmnb) CONFORM_SKIP("kernel.msgmnb is not readable");
  IPCB_SYSV_MAKE(MsgQueue, q);
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
// and the id is invalid (IPC_STAT and msgrcv fail with EINVAL).
TEST(SysvMsg, IpcRmidIsImmediate) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M37");
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_EQ(msg_send(q.id(), 1, "pending"), 0) << std::strerror(errno);
  ASSERT_EQ(::msgctl(q.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::msgget(q.key(), 0)), ENOENT);
  msqid_ds ds{};
  EXPECT_EQ(failed_with(::msgctl(q.id(), IPC_STAT, &ds)), EINVAL);
  EXPECT_EQ(msg_receive(q.id(), 0, 64).err, EINVAL);
}

// msgsnd(2): a queue holds up to msg_qbytes bytes; exactly filling it succeeds, and a send past
// it with IPC_NOWAIT fails with EAGAIN.
TEST(SysvMsg, FullQueueWithNowaitFailsEagain) {
  CONFORM_MAN("msgsnd(2)");
  CONFORM_ROWS("M13");
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_TRUE(set_qbytes(q.id(), 64)) << std::strerror(errno);
  EXPECT_EQ(msg_send(q.id(), 1, std::string(64, 'f')), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(msg_send(q.id(), 1, "x")), EAGAIN);
}

// msgsnd(2): MSGMAX (kernel.msgmax) is the largest message: exactly at it succeeds, one byte
// more fails with EINVAL.
TEST(SysvMsg, SendExactlyAtMsgmaxSucceedsOnePastFailsEinval) {
  CONFORM_MAN("msgsnd(2)");
  CONFORM_ROWS("U03");
  auto msgmax = read_sysctl("kernel.msgmax");
  if (!msgmax) CONFORM_SKIP("kernel.msgmax is not readable");
  if (*msgmax > (1 << 24)) CONFORM_SKIP("kernel.msgmax is above 16 MiB: too large to send safely");
  IPCB_SYSV_MAKE(MsgQueue, q);
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
  CONFORM_ROWS("M11");
  IPCB_SYSV_MAKE(MsgQueue, q);
  EXPECT_EQ(failed_with(msg_send(q.id(), 0, "zero")), EINVAL);
  EXPECT_EQ(failed_with(msg_send(q.id(), -1, "negative")), EINVAL);
}

// msgsnd(2): a msgsz that is negative as a ssize_t ((size_t) -1) fails with EINVAL.
TEST(SysvMsg, HugeSendSizeFailsEinval) {
  CONFORM_MAN("msgsnd(2)");
  CONFORM_ROWS("M12");
  IPCB_SYSV_MAKE(MsgQueue, q);
  long buf[4] = {1, 0, 0, 0};
  EXPECT_EQ(failed_with(::msgsnd(q.id(), buf, static_cast<size_t>(-1), IPC_NOWAIT)), EINVAL);
}

// msgsnd(2)/msgrcv(2)/msgctl(2): an invalid msqid (-1) fails with EINVAL in each call (msgctl
// IPC_STAT and IPC_SET), as does an invalid msgctl cmd (-1, or an unknown number).
TEST(SysvMsg, InvalidIdOrCommandFailsEinval) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M10 M20 M40");
  msqid_ds ds{};
  EXPECT_EQ(failed_with(msg_send(-1, 1, "x")), EINVAL);
  EXPECT_EQ(msg_receive(-1, 0, 16).err, EINVAL);
  EXPECT_EQ(failed_with(::msgctl(-1, IPC_STAT, &ds)), EINVAL);
  EXPECT_EQ(failed_with(::msgctl(-1, IPC_SET, &ds)), EINVAL);
  IPCB_SYSV_MAKE(MsgQueue, q);
  EXPECT_EQ(failed_with(::msgctl(q.id(), -1, &ds)), EINVAL);
  EXPECT_EQ(failed_with(::msgctl(q.id(), 12345, &ds)), EINVAL);
  EXPECT_EQ(::msgctl(q.id(), IPC_STAT, &ds), 0) << "control: " << std::strerror(errno);
}

// msgctl(2): raising msg_qbytes above MSGMNB without CAP_SYS_RESOURCE fails with EPERM; the
// same owner may set it back up to exactly MSGMNB after lowering it.
TEST(SysvMsg, UnprivilegedRaiseAboveMsgmnbFailsEperm) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("U04");
  auto msgmnb = read_sysctl("kernel.msgmnb");
  if (!msgmnb) CONFORM_SKIP("kernel.msgmnb is not readable");
  if (!is_root() && has_capability(kCapSysResource))
    CONFORM_SKIP("this user holds CAP_SYS_RESOURCE");
  ChildResult r = unprivileged_owner(Sysv::kMsg, 0600, [&msgmnb](int id, key_t) {
    auto mnb = static_cast<msglen_t>(*msgmnb);
    if (!set_qbytes(id, mnb - 1) || !set_qbytes(id, mnb)) return child_fail(1, "up to msgmnb");
    return set_qbytes(id, mnb + 1) ? 2 : errno;
  });
  EXPECT_EQ(r.describe(), exited_with(EPERM)) << "1: the control failed; 2: the raise succeeded";
}

// msgctl(2): a caller with CAP_SYS_RESOURCE may raise msg_qbytes above MSGMNB.
TEST(SysvMsg, PrivilegedRaiseAboveMsgmnbSucceeds) {
  CONFORM_MAN("msgctl(2)");
  if (!has_capability(kCapSysResource))
    CONFORM_SKIP((is_root() ? "needs CAP_SYS_RESOURCE, which this root process lacks"
                            : "needs CAP_SYS_RESOURCE (run as root)"));
  auto msgmnb = read_sysctl("kernel.msgmnb");
  if (!msgmnb) CONFORM_SKIP("kernel.msgmnb is not readable");
  IPCB_SYSV_MAKE(MsgQueue, q);
  auto raised = static_cast<msglen_t>(*msgmnb + 1);
  ASSERT_TRUE(set_qbytes(q.id(), raised)) << std::strerror(errno);
  EXPECT_EQ(msg_stat(q.id()).msg_qbytes, raised);
}

// msgctl(2): IPC_SET by the owner changes the permission bits of msg_perm.mode.
TEST(SysvMsg, IpcSetByOwnerChangesMode) {
  CONFORM_MAN("msgctl(2)");
  IPCB_SYSV_MAKE(MsgQueue, q, 0600);
  msqid_ds ds = msg_stat(q.id());
  ds.msg_perm.mode = 0620;
  ASSERT_EQ(::msgctl(q.id(), IPC_SET, &ds), 0) << std::strerror(errno);
  EXPECT_EQ(msg_stat(q.id()).msg_perm.mode & 0777, 0620);
}

}  // namespace ipcb::conform
