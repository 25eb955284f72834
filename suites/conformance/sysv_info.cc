// Do the system-wide views of System V message queues and semaphore sets behave as documented
// (msgctl(2) IPC_INFO / MSG_INFO / MSG_STAT, semctl(2) IPC_INFO / SEM_INFO / SEM_STAT)? Each test
// runs in a child in its own IPC namespace, so the counts are exactly its own objects. (The shm
// view is in sysv_shm_ctl.cc, the *_INFO counts and *_STAT_ANY of all three in sysv_stat_any.cc.)
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
namespace {}  // namespace

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

}  // namespace ipcb::conform
