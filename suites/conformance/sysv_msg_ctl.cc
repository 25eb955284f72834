// Does msgctl(2) report and control System V message queues as documented here: the status
// after create, send and receive (counts, pids, times), msg_qbytes, bad buffers, permissions
// (each refusal with a positive control) and the system-wide IPC_INFO / MSG_INFO / MSG_STAT /
// MSG_STAT_ANY view (in a child's private IPC namespace, so the counts are the test's own).
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

constexpr uid_t kNobody = 65534;
constexpr int kCapIpcOwner = 15;           // CAP_IPC_OWNER, capability(7)
constexpr int kMsgR = 0400, kMsgW = 0200;  // MSG_R, MSG_W (the kernel's names; not in libc)

// IPC_SET of queue `id` to owner `uid`, `mode` and msg_qbytes `qbytes`: 0 or the errno.
int set_queue(int id, uid_t uid, mode_t mode, msglen_t qbytes) {
  msqid_ds ds{};
  ds.msg_perm.uid = uid;
  ds.msg_perm.gid = uid == 0 ? 0 : kNobody;
  ds.msg_perm.mode = static_cast<unsigned short>(mode);
  ds.msg_qbytes = qbytes;
  return failed_with(::msgctl(id, IPC_SET, &ds));
}

msglen_t msgmnb() {
  return static_cast<msglen_t>(read_sysctl("kernel.msgmnb").value_or(16384));
}

// A send or receive by a child updates the queue's status:
//   - msgsnd(2): msg_cbytes = msgsz, msg_qnum = 1, msg_lspid = the sender's pid and msg_stime
//     within the call's window; nothing was received yet (msg_lrpid and msg_rtime 0);
//   - msgrcv(2): the receive returns the data sent; msg_cbytes = 0, msg_qnum = 0, msg_lrpid =
//     the receiver's pid and msg_rtime within the call's window.
struct RecordsCase {
  CaseInfo info;
  bool send;  // the child sends (else it receives the message the test sent)
};
void records_counts_pid_and_time(const RecordsCase& c) {
  IPCB_SYSV_MAKE(MsgQueue, q);
  if (!c.send) {
    ASSERT_EQ(msg_send(q.id(), 7, "payload"), 0) << std::strerror(errno);
  }
  SharedMemory<std::atomic<pid_t>> child;
  ASSERT_TRUE(child.ok());
  time_t before = ipc_now();
  ChildResult r = run_in_child([&q, &child, &c] {
    child->store(::getpid());
    if (c.send) return msg_send(q.id(), 1, "from child") == 0 ? 0 : errno;
    Received got = msg_receive(q.id(), 0, 64);
    return got.err != 0 ? got.err : got.type == 7 && got.text == "payload" ? 0 : 1;
  });
  time_t after = ipc_now();
  ASSERT_EQ(r.describe(), exited_with(0)) << (c.send ? "" : "1: other data received");
  msqid_ds ds = msg_stat(q.id());
  EXPECT_EQ(ds.msg_qnum, c.send ? 1u : 0u);
  EXPECT_EQ(ds.msg_cbytes, c.send ? 10u : 0u);
  EXPECT_EQ(c.send ? ds.msg_lspid : ds.msg_lrpid, child->load());
  time_t stamped = c.send ? ds.msg_stime : ds.msg_rtime;
  EXPECT_GE(stamped, before);
  EXPECT_LE(stamped, after);
  if (c.send) {
    EXPECT_EQ(ds.msg_lrpid, 0);
    EXPECT_EQ(ds.msg_rtime, 0);
  }
}
const RecordsCase kRecords[] = {
    {{"SendRecordsCountsPidAndTime", "msgsnd(2)", "M07"}, true},
    {{"ReceiveRecordsCountsPidAndTime", "msgrcv(2)", "M16"}, false},
};

}  // namespace

CONFORM_CASES("SysvMsg", kRecords, records_counts_pid_and_time);

// msgget(2)/msgctl(2): a new queue's status: msg_stime and msg_rtime 0, msg_ctime the creation
// time, no messages, msg_qbytes > 0 (MSGMNB), no pids, the key, uid/cuid the creator's euid,
// gid/cgid its egid, and the mode's low 9 bits as asked.
TEST(SysvMsg, NewQueueStatus) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M35");
  time_t before = ipc_now();
  MsgQueue q(0640);
  time_t after = ipc_now();
  ASSERT_GE(q.id(), 0) << q.error();
  msqid_ds ds = msg_stat(q.id());
  EXPECT_EQ(ds.msg_stime, 0);
  EXPECT_EQ(ds.msg_rtime, 0);
  EXPECT_GE(ds.msg_ctime, before);
  EXPECT_LE(ds.msg_ctime, after);
  EXPECT_EQ(ds.msg_qnum, 0u);
  EXPECT_EQ(ds.msg_cbytes, 0u);
  EXPECT_GT(ds.msg_qbytes, 0u);
  EXPECT_EQ(ds.msg_lspid, 0);
  EXPECT_EQ(ds.msg_lrpid, 0);
  EXPECT_EQ(ds.msg_perm.__key, q.key());
  EXPECT_EQ(ds.msg_perm.uid, ::geteuid());
  EXPECT_EQ(ds.msg_perm.cuid, ::geteuid());
  EXPECT_EQ(ds.msg_perm.gid, ::getegid());
  EXPECT_EQ(ds.msg_perm.cgid, ::getegid());
  EXPECT_EQ(ds.msg_perm.mode & 0777, 0640u);
}

// msgctl(2): the owner may lower msg_qbytes without privilege (here by 1); IPC_STAT shows it.
TEST(SysvMsg, OwnerLowersQbytesWithoutPrivilege) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M36");
  ChildResult r = unprivileged_owner(Sysv::kMsg, 0600, [](int id, key_t) {
    msqid_ds ds{};
    if (::msgctl(id, IPC_STAT, &ds) != 0) return kSetupFailed;
    msglen_t lowered = ds.msg_qbytes - 1;
    ds.msg_qbytes = lowered;
    if (::msgctl(id, IPC_SET, &ds) != 0) return child_fail(1, "IPC_SET");
    if (::msgctl(id, IPC_STAT, &ds) != 0) return kSetupFailed;
    return ds.msg_qbytes == lowered ? 0 : 2;
  });
  EXPECT_EQ(r.describe(), exited_with(0)) << "1: refused; 2: IPC_STAT shows another value";
}

// msgsnd(2)/msgrcv(2)/msgctl(2): mode bits bind the owner too: on a mode-0 queue msgsnd,
// msgrcv and IPC_STAT fail with EACCES; IPC_SET (ownership, not permission) to 0200 lets it
// send, not receive or stat; 0400 lets it receive and stat, not send.
TEST(SysvMsg, OwnerWithoutPermissionGetsEacces) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M38");
  ChildResult r = unprivileged_owner(Sysv::kMsg, 0, [](int id, key_t) {
    msqid_ds ds{};
    if (failed_with(::msgctl(id, IPC_STAT, &ds)) != EACCES) return 1;
    if (failed_with(msg_send(id, 1, "w")) != EACCES) return 2;
    if (msg_receive(id, 0, 16).err != EACCES) return 3;
    if (set_queue(id, ::geteuid(), 0200, msgmnb()) != 0) return 4;
    if (msg_send(id, 1, "w") != 0) return 5;
    if (msg_receive(id, 0, 16).err != EACCES) return 6;
    if (failed_with(::msgctl(id, IPC_STAT, &ds)) != EACCES) return 7;
    if (set_queue(id, ::geteuid(), 0400, msgmnb()) != 0) return 4;
    if (::msgctl(id, IPC_STAT, &ds) != 0 || ds.msg_qnum != 1) return 8;
    if (failed_with(msg_send(id, 1, "w")) != EACCES) return 9;
    return msg_receive(id, 0, 16).text == "w" ? 0 : 10;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
}

// msgsnd(2)/msgrcv(2): another user needs write permission to send and read permission to
// receive: nobody on root's 0600 queue gets EACCES from both; with 0602 it may send (still not
// receive), with 0604 it may receive.
TEST(SysvMsg, OtherUserWithoutPermissionGetsEacces) {
  CONFORM_MAN("msgsnd(2)");
  CONFORM_ROWS("M08 M18");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  IPCB_SYSV_MAKE(MsgQueue, q, 0600);
  ASSERT_EQ(msg_send(q.id(), 1, "private"), 0);
  auto send = [&q] { return as_nobody([&q] { return failed_with(msg_send(q.id(), 2, "x")); }); };
  auto receive = [&q] { return as_nobody([&q] { return msg_receive(q.id(), 1, 16).err; }); };
  EXPECT_EQ(send().describe(), exited_with(EACCES));
  EXPECT_EQ(receive().describe(), exited_with(EACCES));
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 1u);
  ASSERT_EQ(set_queue(q.id(), 0, 0602, msgmnb()), 0);
  EXPECT_EQ(send().describe(), exited_with(0));
  EXPECT_EQ(receive().describe(), exited_with(EACCES));
  ASSERT_EQ(set_queue(q.id(), 0, 0604, msgmnb()), 0);
  EXPECT_EQ(receive().describe(), exited_with(0));
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 1u);  // nobody's own message is left
}

// msgget(2): asking for access a mode-0 queue does not grant (MSG_R, MSG_W or both) fails with
// EACCES for another user (nobody on root's queue); asking for none finds the queue, and
// CAP_IPC_OWNER (root) bypasses the check.
TEST(SysvMsg, GetMode0QueueAskingAccessFailsEacces) {
  CONFORM_MAN("msgget(2)");
  CONFORM_ROWS("M04");
  if (!is_root() || !has_capability(kCapIpcOwner))
    CONFORM_SKIP("needs root (with CAP_IPC_OWNER) to act as nobody and check the bypass");
  IPCB_SYSV_MAKE(MsgQueue, q, 0);
  ChildResult r = as_nobody([&q] {
    for (int flags : {kMsgR, kMsgW, kMsgR | kMsgW}) {
      if (failed_with(::msgget(q.key(), flags)) != EACCES) return 1;
    }
    return ::msgget(q.key(), 0) == q.id() ? 0 : 2;
  });
  EXPECT_EQ(r.describe(), exited_with(0)) << "1: not EACCES; 2: msgflg 0 did not find it";
  EXPECT_EQ(::msgget(q.key(), kMsgR | kMsgW), q.id()) << std::strerror(errno);
}

// msgctl(2): IPC_SET and IPC_RMID by a user that is neither creator nor owner fail with EPERM;
// once root makes nobody the owner, nobody's IPC_SET and IPC_RMID succeed.
TEST(SysvMsg, ControlByNonOwnerFailsEperm) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M41");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  IPCB_SYSV_MAKE(MsgQueue, q, 0666);
  auto set = [&q] { return as_nobody([&q] { return set_queue(q.id(), kNobody, 0640, 64); }); };
  auto rm = [&q] {
    return as_nobody([&q] { return failed_with(::msgctl(q.id(), IPC_RMID, nullptr)); });
  };
  EXPECT_EQ(set().describe(), exited_with(EPERM));
  EXPECT_EQ(rm().describe(), exited_with(EPERM));
  EXPECT_EQ(::msgget(q.key(), 0), q.id()) << "the queue is gone";
  ASSERT_EQ(set_queue(q.id(), kNobody, 0600, msgmnb()), 0) << "root makes nobody the owner";
  EXPECT_EQ(set().describe(), exited_with(0));
  EXPECT_EQ(msg_stat(q.id()).msg_qbytes, 64u);
  EXPECT_EQ(rm().describe(), exited_with(0));
  EXPECT_EQ(failed_with(::msgget(q.key(), 0)), ENOENT) << "the owner's IPC_RMID failed";
}

}  // namespace ipcb::conform
