// Do the System V calls refuse a buffer they cannot access (EFAULT), as their man pages say
// (shmctl(2), msgsnd(2), msgctl(2), semctl(2), semop(2))? Each case makes one object, passes an
// inaccessible page (or NULL) where the call reads or writes its buffer, expects EFAULT from
// every such call, and then that the object is unchanged. The *ctl calls are checked through
// the raw system call, so that no libc conversion of the buffer is involved.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// A call given the object's id and an inaccessible page.
enum class Call {
  kNone,
  kShmctlStat,      // the system call shmctl(IPC_STAT), into the page
  kShmctlSet,       // the system call shmctl(IPC_SET), from the page
  kShmctlStatLibc,  // the libc shmctl(IPC_STAT)
  kMsgsndNull,      // msgsnd of 8 bytes from NULL
  kMsgsnd,          // msgsnd of 8 bytes from the page
  kMsgctlStat,
  kMsgctlSet,
  kSemctlGetall,  // the system call semctl(GETALL), into the page
  kSemctlSet,
  kSemtimedop,  // a decrement that would block, with the page as its timeout
  kSemopNull,   // one operation from NULL
  kSemop,       // one operation from the page
};

long bad_call(Call call, int id, void* bad) {
  sembuf down{0, -1, 0};
  switch (call) {
    case Call::kShmctlStat:
      return ::syscall(SYS_shmctl, id, IPC_STAT, bad);
    case Call::kShmctlSet:
      return ::syscall(SYS_shmctl, id, IPC_SET, bad);
    case Call::kShmctlStatLibc:
      return ::shmctl(id, IPC_STAT, static_cast<shmid_ds*>(bad));
    case Call::kMsgsndNull:
      return ::msgsnd(id, nullptr, 8, IPC_NOWAIT);
    case Call::kMsgsnd:
      return ::msgsnd(id, bad, 8, IPC_NOWAIT);
    case Call::kMsgctlStat:
      return ::syscall(SYS_msgctl, id, IPC_STAT, bad);
    case Call::kMsgctlSet:
      return ::syscall(SYS_msgctl, id, IPC_SET, bad);
    case Call::kSemctlGetall:
      return ::syscall(SYS_semctl, id, 0, GETALL, bad);
    case Call::kSemctlSet:
      return ::syscall(SYS_semctl, id, 0, IPC_SET, bad);
    case Call::kSemtimedop:
      return ::semtimedop(id, &down, 1, static_cast<timespec*>(bad));
    case Call::kSemopNull:
      return ::semop(id, nullptr, 1);
    case Call::kSemop:
      return ::semop(id, static_cast<sembuf*>(bad), 1);
    case Call::kNone:
      break;
  }
  return 0;
}

// What the failed calls must have left as it was.
enum class Kept {
  kNothing,  // nothing to check
  kMode,     // the mode the object was made with, 0600 (an IPC_SET did not happen)
  kEmpty,    // the queue holds no message
};

// The low 9 mode bits of object `id` of `kind` (IPC_STAT).
unsigned mode_of(Sysv kind, int id) {
  if (kind == Sysv::kShm) return shm_stat(id).shm_perm.mode & 0777;
  if (kind == Sysv::kMsg) return msg_stat(id).msg_perm.mode & 0777;
  semid_ds ds{};
  SemArg a{};
  a.buf = &ds;
  EXPECT_EQ(::semctl(id, 0, IPC_STAT, a), 0) << "IPC_STAT";
  return ds.sem_perm.mode & 0777;
}

struct EfaultCase {
  CaseInfo info;
  Sysv kind;
  int nsems;  // semaphores in the set (a segment is one page)
  Call calls[3];
  Kept kept;
};
void bad_buffer_fails_efault(const EfaultCase& c) {
  std::optional<ShmSegment> shm;
  std::optional<MsgQueue> msg;
  std::optional<SemSet> sem;
  const SysvObject& o = c.kind == Sysv::kShm
                            ? static_cast<const SysvObject&>(shm.emplace(page_size()))
                        : c.kind == Sysv::kMsg ? static_cast<const SysvObject&>(msg.emplace())
                                               : sem.emplace(c.nsems);
  ASSERT_GE(o.id(), 0) << o.error();
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  for (int i = 0; i < 3 && c.calls[i] != Call::kNone; ++i) {
    EXPECT_EQ(failed_with(bad_call(c.calls[i], o.id(), page.get())), EFAULT) << "call " << i;
  }
  if (c.kept == Kept::kMode) {
    EXPECT_EQ(mode_of(c.kind, o.id()), 0600u) << "IPC_SET changed the mode";
  }
  if (c.kept == Kept::kEmpty) {
    EXPECT_EQ(msg_stat(o.id()).msg_qnum, 0u);
  }
}
// clang-format off
const EfaultCase kEfault[] = {
  {{"StatOrSetWithBadBufferFailsEfault", "shmctl(2)", "S34"}, Sysv::kShm, 0,
   {Call::kShmctlStat, Call::kShmctlSet, Call::kShmctlStatLibc}, Kept::kMode},
  {{"SendFromBadBufferFailsEfault", "msgsnd(2)", "M09"}, Sysv::kMsg, 0,
   {Call::kMsgsndNull, Call::kMsgsnd}, Kept::kEmpty},
  {{"StatOrSetWithBadBufferFailsEfault", "msgctl(2)", "M39"}, Sysv::kMsg, 0,
   {Call::kMsgctlStat, Call::kMsgctlSet}, Kept::kMode},
  {{"GetallOrSetWithBadBufferFailsEfault", "semctl(2)", "E31"}, Sysv::kSem, 3,
   {Call::kSemctlGetall, Call::kSemctlSet}, Kept::kMode},
  {{"SemtimedopBadTimeoutFailsEfault", "semop(2)", "E18"}, Sysv::kSem, 1,
   {Call::kSemtimedop}, Kept::kNothing},
  {{"BadSopsBufferFailsEfault", "semop(2)", "E11"}, Sysv::kSem, 1,
   {Call::kSemopNull, Call::kSemop}, Kept::kNothing},
};
// clang-format on

}  // namespace

IPCB_SYSV_CASES(kEfault, bad_buffer_fails_efault);

}  // namespace ipcb::conform
