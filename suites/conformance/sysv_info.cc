// Do the system-wide views of System V message queues and semaphore sets behave as documented
// (msgctl(2) IPC_INFO / MSG_INFO / MSG_STAT / MSG_STAT_ANY, semctl(2) IPC_INFO / SEM_INFO /
// SEM_STAT / SEM_STAT_ANY)? Each test runs in a child in its own IPC namespace, so the counts
// are exactly its own objects; the *_STAT_ANY checks as nobody need root. (The shm view is in
// sysv_shm_ctl.cc.)
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

int sem_cmd(int idx, int cmd, void* buf) {
  SemArg a{};
  a.buf = static_cast<semid_ds*>(buf);
  return ::semctl(idx, 0, cmd, a);
}

constexpr const char* kStatAnyHelp =
    "1: *_INFO failed; 2: *_STAT_ANY(max index) failed; 3-6: counts differ (stderr); 7: *_STAT "
    "as nobody not EACCES; 8: *_STAT_ANY as nobody did not give the id";
constexpr const char* kNoStatAny =
    "*_STAT_ANY is unknown (EINVAL) before Linux 4.17, or no private IPC namespace could be made";

}  // namespace

// msgctl(2): IPC_INFO and MSG_INFO succeed and return the highest index in use, which MSG_STAT
// accepts, returning the id of the queue there; IPC_INFO's msgmax, msgmnb and msgmni are the
// namespace's kernel.msgmax, msgmnb and msgmni.
TEST(SysvMsg, IpcInfoMsgInfoAndMsgStatAgree) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M44");
  ChildResult r = in_private_ipc_ns([] {
    int first = ::msgget(IPC_PRIVATE, 0600);  // the namespace goes with the child
    int last = ::msgget(IPC_PRIVATE, 0600);
    if (first < 0 || last < 0) return kSetupFailed;
    msginfo info{};
    int top = ::msgctl(0, IPC_INFO, reinterpret_cast<msqid_ds*>(&info));
    if (top < 0) return child_fail(1, "IPC_INFO");
    if (info.msgmax != read_sysctl("kernel.msgmax")) return mismatch(2, "msgmax", info.msgmax, 0);
    if (info.msgmnb != read_sysctl("kernel.msgmnb")) return mismatch(2, "msgmnb", info.msgmnb, 0);
    if (info.msgmni != read_sysctl("kernel.msgmni")) return mismatch(2, "msgmni", info.msgmni, 0);
    if (::msgctl(0, MSG_INFO, reinterpret_cast<msqid_ds*>(&info)) != top) return 3;
    msqid_ds ds{};
    int id = ::msgctl(top, MSG_STAT, &ds);
    return id == last ? 0 : mismatch(4, "MSG_STAT(highest index)", id, last);
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoPrivateIpcNs);
  EXPECT_EQ(r.describe(), exited_with(0))
      << "1: IPC_INFO failed; 2: a limit differs; 3: MSG_INFO's index differs; 4: MSG_STAT";
}

// msgctl(2): MSG_INFO gives msgpool = queues, msgmap = messages, msgtql = bytes queued, as in
// /proc/sysvipc/msg; the indexes MSG_STAT_ANY accepts number msgpool, the highest among them
// the one MSG_INFO returns. MSG_STAT_ANY (Linux 4.17) needs no read permission: nobody gets
// EACCES from MSG_STAT on root's 0600 queue and its id from MSG_STAT_ANY.
TEST(SysvMsg, MsgInfoCountsAndMsgStatAnyIgnoresPermission) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M43");
  if (!is_root()) CONFORM_SKIP("needs root to check MSG_STAT_ANY as another user (nobody)");
  ChildResult r = in_private_ipc_ns([] {
    int a = ::msgget(IPC_PRIVATE, 0600), b = ::msgget(IPC_PRIVATE, 0644);
    int c = ::msgget(IPC_PRIVATE, 0600);
    if (a < 0 || b < 0 || c < 0) return kSetupFailed;
    if (msg_send(a, 1, "12345") || msg_send(a, 2, "1234567") || msg_send(b, 1, "123"))
      return kSetupFailed;
    msginfo info{};
    int top = ::msgctl(0, MSG_INFO, reinterpret_cast<msqid_ds*>(&info));
    if (top < 0) return child_fail(1, "MSG_INFO");
    msqid_ds ds{};
    if (::msgctl(top, MSG_STAT_ANY, &ds) < 0) return errno == EINVAL ? kSkipCode : 2;
    int valid = 0, index_of_c = -1;
    for (int i = 0; i <= top; ++i) {
      int id = ::msgctl(i, MSG_STAT_ANY, &ds);
      valid += id >= 0 ? 1 : 0;
      if (id == c) index_of_c = i;
    }
    long long qnum = 0, cbytes = 0, queues = 0;
    for (auto& row : sysvipc_rows(Sysv::kMsg)) {
      qnum += row["qnum"];
      cbytes += row["cbytes"];
      ++queues;
    }
    if (info.msgpool != 3 || queues != 3) return mismatch(3, "msgpool", info.msgpool, queues);
    if (valid != info.msgpool) return mismatch(4, "indexes MSG_STAT_ANY accepts", valid, 3);
    if (info.msgmap != 3 || qnum != 3) return mismatch(5, "msgmap", info.msgmap, qnum);
    if (info.msgtql != 15 || cbytes != 15) return mismatch(6, "msgtql", info.msgtql, cbytes);
    if (!drop_to_nobody()) return kSetupFailed;
    if (failed_with(::msgctl(index_of_c, MSG_STAT, &ds)) != EACCES) return 7;
    return ::msgctl(index_of_c, MSG_STAT_ANY, &ds) == c ? 0 : 8;
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoStatAny);
  EXPECT_EQ(r.describe(), exited_with(0)) << kStatAnyHelp;
}

// semctl(2): IPC_INFO returns the highest index in use (>= 0), SEM_INFO counts the sets in
// semusz (>= 1: here exactly 1), and SEM_STAT of that index returns the set's id.
TEST(SysvSem, IpcInfoSemInfoAndSemStatAgree) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E27");
  ChildResult r = in_private_ipc_ns([] {
    int id = ::semget(IPC_PRIVATE, 2, 0600);  // the namespace goes with the child
    if (id < 0) return kSetupFailed;
    seminfo info{};
    int top = sem_cmd(0, IPC_INFO, &info);
    if (top < 0) return child_fail(1, "IPC_INFO");
    if (sem_cmd(0, SEM_INFO, &info) != top) return 2;
    if (info.semusz != 1) return mismatch(3, "semusz", info.semusz, 1);
    semid_ds ds{};
    int got = sem_cmd(top, SEM_STAT, &ds);
    return got == id && ds.sem_nsems == 2 ? 0 : mismatch(4, "SEM_STAT(highest index)", got, id);
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoPrivateIpcNs);
  EXPECT_EQ(r.describe(), exited_with(0))
      << "1: IPC_INFO failed; 2: SEM_INFO's index differs; 3: semusz; 4: SEM_STAT";
}

// semctl(2): SEM_INFO gives semusz = sets and semaem = semaphores, as in /proc/sysvipc/sem; the
// indexes SEM_STAT_ANY accepts number semusz, and the libc wrapper passes SEM_STAT_ANY's buffer
// (sem_nsems arrives). SEM_STAT_ANY (Linux 4.17) needs no read permission: nobody gets EACCES
// from SEM_STAT on root's 0600 set and its id from SEM_STAT_ANY.
TEST(SysvSem, SemInfoCountsAndSemStatAnyIgnoresPermission) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E36");
  if (!is_root()) CONFORM_SKIP("needs root to check SEM_STAT_ANY as another user (nobody)");
  ChildResult r = in_private_ipc_ns([] {
    int a = ::semget(IPC_PRIVATE, 3, 0644), b = ::semget(IPC_PRIVATE, 5, 0600);
    if (a < 0 || b < 0) return kSetupFailed;
    seminfo info{};
    int top = sem_cmd(0, SEM_INFO, &info);
    if (top < 0) return child_fail(1, "SEM_INFO");
    semid_ds ds{};
    if (sem_cmd(top, SEM_STAT_ANY, &ds) < 0) return errno == EINVAL ? kSkipCode : 2;
    int valid = 0, index_of_b = -1;
    for (int i = 0; i <= top; ++i) {
      ds = {};
      int id = sem_cmd(i, SEM_STAT_ANY, &ds);
      valid += id >= 0 ? 1 : 0;
      if (id == b && ds.sem_nsems == 5) index_of_b = i;
    }
    long long sets = 0, sems = 0;
    for (auto& row : sysvipc_rows(Sysv::kSem)) {
      ++sets;
      sems += row["nsems"];
    }
    if (info.semusz != 2 || sets != 2) return mismatch(3, "semusz", info.semusz, sets);
    if (info.semaem != 8 || sems != 8) return mismatch(4, "semaem", info.semaem, sems);
    if (valid != 2) return mismatch(5, "indexes SEM_STAT_ANY accepts", valid, 2);
    if (index_of_b < 0) return mismatch(6, "SEM_STAT_ANY's buffer (sem_nsems of b)", 0, 5);
    if (!drop_to_nobody()) return kSetupFailed;
    if (failed_with(sem_cmd(index_of_b, SEM_STAT, &ds)) != EACCES) return 7;
    return sem_cmd(index_of_b, SEM_STAT_ANY, &ds) == b ? 0 : 8;
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoStatAny);
  EXPECT_EQ(r.describe(), exited_with(0)) << kStatAnyHelp;
}

}  // namespace ipcb::conform
