// Do the system-wide counts of System V objects and the *_STAT_ANY commands behave as documented
// (shmctl(2) SHM_INFO, msgctl(2) MSG_INFO, semctl(2) SEM_INFO; SHM_STAT_ANY, MSG_STAT_ANY,
// SEM_STAT_ANY, Linux 4.17)? Each case runs in a child in its own IPC namespace, so the counts
// are exactly its own objects: *_INFO returns the highest index in use, the indexes *_STAT_ANY
// accepts are as many as the objects, and the counts equal the sums of /proc/sysvipc. Then, as
// nobody (so the cases need root), *_STAT of root's 0600 object fails with EACCES while
// *_STAT_ANY, which needs no read permission, gives its id.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// Where the object nobody is to look at stands: its index and its id.
struct Found {
  int index = -1;
  int id = -1;
};

// shmctl(2): SHM_INFO's used_ids counts the indexes SHM_STAT_ANY accepts; shm_tot, shm_rss and
// shm_swp (pages) equal the sums of /proc/sysvipc/shm. Nobody looks at the 0600 segment `a`.
int shm_counts(Found& f) {
  const size_t pg = page_size();
  int a = ::shmget(IPC_PRIVATE, 3 * pg, IPC_CREAT | 0600);  // the namespace dies with us
  int b = ::shmget(IPC_PRIVATE, pg + 1, IPC_CREAT | 0644);
  int c = ::shmget(IPC_PRIVATE, pg, IPC_CREAT | 0);
  void* p = b < 0 ? kShmatFailed : ::shmat(b, nullptr, 0);
  if (a < 0 || c < 0 || p == kShmatFailed) return child_fail(kSetupFailed, "segments");
  static_cast<char*>(p)[0] = 1;  // one resident page
  shm_info si{};
  int top = ::shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&si));
  if (top < 0) return child_fail(1, "SHM_INFO");
  shmid_ds ds{};
  if (::shmctl(top, SHM_STAT_ANY, &ds) < 0) {
    return errno == EINVAL && ::shmctl(a, IPC_STAT, &ds) == 0 ? kSkipCode : 2;
  }
  int valid = 0;
  for (int i = 0; i <= top; ++i) valid += ::shmctl(i, SHM_STAT_ANY, &ds) >= 0 ? 1 : 0;
  if (valid != si.used_ids || si.used_ids != 3) return mismatch(3, "used_ids", si.used_ids, 3);
  long long tot = 0, rss = 0, swp = 0;
  for (auto& row : sysvipc_rows(Sysv::kShm)) {
    tot += (row["size"] + static_cast<long long>(pg) - 1) / static_cast<long long>(pg);
    rss += row["rss"] / static_cast<long long>(pg);
    swp += row["swap"] / static_cast<long long>(pg);
  }
  if (static_cast<long long>(si.shm_tot) != tot) return mismatch(4, "shm_tot", si.shm_tot, tot);
  if (static_cast<long long>(si.shm_rss) != rss) return mismatch(5, "shm_rss", si.shm_rss, rss);
  if (static_cast<long long>(si.shm_swp) != swp) return mismatch(6, "shm_swp", si.shm_swp, swp);
  if (tot != 6 || rss < 1) return mismatch(7, "pages in /proc/sysvipc/shm", tot, 6);
  for (int i = 0; i <= top; ++i) f.index = ::shmctl(i, SHM_STAT_ANY, &ds) == a ? i : f.index;
  f.id = a;
  return 0;
}

// msgctl(2): MSG_INFO gives msgpool = queues, msgmap = messages, msgtql = bytes queued, as in
// /proc/sysvipc/msg; the indexes MSG_STAT_ANY accepts number msgpool. Nobody looks at the 0600
// queue `c`.
int msg_counts(Found& f) {
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
  int valid = 0;
  for (int i = 0; i <= top; ++i) {
    int id = ::msgctl(i, MSG_STAT_ANY, &ds);
    valid += id >= 0 ? 1 : 0;
    if (id == c) f.index = i;
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
  f.id = c;
  return 0;
}

// semctl(2): SEM_INFO gives semusz = sets and semaem = semaphores, as in /proc/sysvipc/sem; the
// indexes SEM_STAT_ANY accepts number semusz, and the libc wrapper passes SEM_STAT_ANY's buffer
// (sem_nsems arrives). Nobody looks at the 0600 set `b`.
int sem_counts(Found& f) {
  int a = ::semget(IPC_PRIVATE, 3, 0644), b = ::semget(IPC_PRIVATE, 5, 0600);
  if (a < 0 || b < 0) return kSetupFailed;
  seminfo info{};
  int top = sem_cmd(0, SEM_INFO, &info);
  if (top < 0) return child_fail(1, "SEM_INFO");
  semid_ds ds{};
  if (sem_cmd(top, SEM_STAT_ANY, &ds) < 0) return errno == EINVAL ? kSkipCode : 2;
  int valid = 0;
  for (int i = 0; i <= top; ++i) {
    ds = {};
    int id = sem_cmd(i, SEM_STAT_ANY, &ds);
    valid += id >= 0 ? 1 : 0;
    if (id == b && ds.sem_nsems == 5) f.index = i;
  }
  long long sets = 0, sems = 0;
  for (auto& row : sysvipc_rows(Sysv::kSem)) {
    ++sets;
    sems += row["nsems"];
  }
  if (info.semusz != 2 || sets != 2) return mismatch(3, "semusz", info.semusz, sets);
  if (info.semaem != 8 || sems != 8) return mismatch(4, "semaem", info.semaem, sems);
  if (valid != 2) return mismatch(5, "indexes SEM_STAT_ANY accepts", valid, 2);
  if (f.index < 0) return mismatch(6, "SEM_STAT_ANY's buffer (sem_nsems of b)", 0, 5);
  f.id = b;
  return 0;
}

// *_STAT (else *_STAT_ANY) of index `index` of `kind`: the id there, or -1 with errno.
int stat_at(Sysv kind, int index, bool any) {
  shmid_ds shm{};
  msqid_ds msg{};
  semid_ds sem{};
  if (kind == Sysv::kShm) return ::shmctl(index, any ? SHM_STAT_ANY : SHM_STAT, &shm);
  if (kind == Sysv::kMsg) return ::msgctl(index, any ? MSG_STAT_ANY : MSG_STAT, &msg);
  return sem_cmd(index, any ? SEM_STAT_ANY : SEM_STAT, &sem);
}

struct StatAnyCase {
  CaseInfo info;
  Sysv kind;
  const char* stat_any;     // "SHM_STAT_ANY", ...
  int (*counts)(Found& f);  // in the child, as root: 0 once the counts agree, else its exit code
  int code;                 // the exit code if *_STAT as nobody is not EACCES (+1: *_STAT_ANY)
  const char* skipped;      // why, when the child could not check
  const char* help;         // what the exit codes mean
};
void info_counts_and_stat_any_ignores_permission(const StatAnyCase& c) {
  if (!is_root()) {
    CONFORM_SKIP(std::string("needs root to check ") + c.stat_any + " as another user (nobody)");
  }
  ChildResult r = in_private_ipc_ns([&c] {
    Found f;
    int counted = c.counts(f);
    if (counted != 0) return counted;
    if (!drop_to_nobody()) return kSetupFailed;
    if (failed_with(stat_at(c.kind, f.index, false)) != EACCES) return c.code;
    return stat_at(c.kind, f.index, true) == f.id ? 0 : c.code + 1;
  });
  SKIP_IF_CHILD_SKIPPED(r, c.skipped);
  EXPECT_EQ(r.describe(), exited_with(0)) << c.help;
}
constexpr const char* kStatAnyHelp =
    "1: *_INFO failed; 2: *_STAT_ANY(max index) failed; 3-6: counts differ (stderr); 7: *_STAT "
    "as nobody not EACCES; 8: *_STAT_ANY as nobody did not give the id";
constexpr const char* kNoStatAny =
    "*_STAT_ANY is unknown (EINVAL) before Linux 4.17, or no private IPC namespace could be made";
const StatAnyCase kStatAny[] = {
    {{"ShmInfoCountsAndShmStatAnyIgnoresPermission", "shmctl(2)", "S45"},
     Sysv::kShm,
     "SHM_STAT_ANY",
     shm_counts,
     8,
     "SHM_STAT_ANY is unknown (EINVAL) before Linux 4.17, or no private IPC namespace could be "
     "made",
     "1: SHM_INFO failed; 2: SHM_STAT_ANY(max index) failed; 3-7: counts differ (stderr); 8: "
     "SHM_STAT as nobody not EACCES; 9: SHM_STAT_ANY as nobody did not give the id"},
    {{"MsgInfoCountsAndMsgStatAnyIgnoresPermission", "msgctl(2)", "M43"},
     Sysv::kMsg,
     "MSG_STAT_ANY",
     msg_counts,
     7,
     kNoStatAny,
     kStatAnyHelp},
    {{"SemInfoCountsAndSemStatAnyIgnoresPermission", "semctl(2)", "E36"},
     Sysv::kSem,
     "SEM_STAT_ANY",
     sem_counts,
     7,
     kNoStatAny,
     kStatAnyHelp},
};

}  // namespace

IPCB_SYSV_CASES(kStatAny, info_counts_and_stat_any_ignores_permission);

}  // namespace ipcb::conform
