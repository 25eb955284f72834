// Does the 32-bit System V ABI of a 64-bit kernel behave as documented (shmctl(2), msgctl(2),
// semctl(2), msgrcv(2))? The *_STAT structures of the 32-bit ABI split each time into a low and
// a *_high word (y2038), which the kernel must fill (0 until 2106); msgrcv's msgtyp is a 32-bit
// long there and must keep its sign. The calls enter the kernel's ia32 compat entry point
// (int $0x80) from this 64-bit process, as a 32-bit binary's would, with buffers below 4 GiB.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

#if defined(__x86_64__)
constexpr bool kHaveIa32 = true;
// The i386 system call numbers (arch/x86/entry/syscalls/syscall_32.tbl).
constexpr long kNr32Getpid = 20, kNr32Semctl = 394, kNr32Shmctl = 396, kNr32Msgrcv = 401,
               kNr32Msgctl = 402;

// A system call through the ia32 compat entry; returns the kernel's value (-errno on error).
long syscall32(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  long ret;
  asm volatile("int $0x80"
               : "=a"(ret)
               : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
               : "r8", "r9", "r10", "r11", "memory", "cc");
  return ret;
}
#else
constexpr bool kHaveIa32 = false;
constexpr long kNr32Getpid = 0, kNr32Semctl = 0, kNr32Shmctl = 0, kNr32Msgrcv = 0, kNr32Msgctl = 0;
long syscall32(long, long = 0, long = 0, long = 0, long = 0, long = 0) {
  return -ENOSYS;
}
#endif

// True if the ia32 compat entry works here (probed in a child: without IA32 emulation, or
// with ia32_emulation=0, int $0x80 kills the process).
bool ia32_works() {
  if (!kHaveIa32) return false;
  static const bool works = [] {
    ChildResult r = run_in_child([] { return syscall32(kNr32Getpid) == ::getpid() ? 0 : 1; });
    return r.exited && r.code == 0;
  }();
  return works;
}

constexpr const char* kNoIa32 =
    "needs an x86-64 kernel with IA32 emulation (CONFIG_IA32_EMULATION, ia32_emulation=1)";

// A page below 4 GiB (a 32-bit pointer) filled with 0xaa, unmapped on every path.
struct Low {
  void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS
#if defined(__x86_64__)
                       | MAP_32BIT
#endif
                   ,
                   -1, 0);
  Low() {
    if (ok()) std::memset(p, 0xaa, 4096);
  }
  ~Low() {
    if (ok()) ::munmap(p, 4096);
  }
  bool ok() const {
    return p != MAP_FAILED && reinterpret_cast<uintptr_t>(p) < (1ULL << 32);
  }
  long addr() const {
    return static_cast<long>(reinterpret_cast<uintptr_t>(p));
  }
  uint32_t word(int i) const {
    return static_cast<const uint32_t*>(p)[i];
  }
  // Expects the words at `highs` (the *_high words of the times) to be 0.
  void expect_zero(std::initializer_list<int> highs) const {
    for (int high : highs) EXPECT_EQ(word(high), 0u) << "word " << high;
  }
};

// Word offsets in the i386 *id64_ds structures, after the 36-byte ipc64_perm (9 words).
constexpr int kShmSegsz = 9, kShmAtime = 10, kShmDtime = 12, kShmCtime = 14, kShmCpid = 16,
              kShmNattch = 18;
constexpr int kMsgStime = 9, kMsgRtime = 11, kMsgCtime = 13, kMsgQnum = 16, kMsgQbytes = 17;
constexpr int kSemOtime = 9, kSemCtime = 11, kSemNsems = 13;

}  // namespace

// shmctl(2) (32-bit ABI): IPC_STAT fills shmid64_ds with each time's high word 0 (the kernel
// clears *_time_high), and the low words and other fields agree with the 64-bit IPC_STAT.
TEST(SysvShm, Compat32StatClearsTimeHighFields) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S46");
  if (!ia32_works()) CONFORM_SKIP(kNoIa32);
  IPCB_SHM_ATTACHED(seg, a, 5000);
  Low buf;
  ASSERT_TRUE(buf.ok());
  ASSERT_EQ(syscall32(kNr32Shmctl, seg.id(), IPC_STAT, buf.addr()), 0);
  shmid_ds ds = shm_stat(seg.id());
  EXPECT_EQ(buf.word(kShmSegsz), 5000u);
  EXPECT_EQ(buf.word(kShmAtime), static_cast<uint32_t>(ds.shm_atime));
  EXPECT_EQ(buf.word(kShmCtime), static_cast<uint32_t>(ds.shm_ctime));
  EXPECT_EQ(buf.word(kShmCpid), static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(buf.word(kShmNattch), 1u);
  buf.expect_zero({kShmAtime + 1, kShmDtime + 1, kShmCtime + 1});
}

// msgctl(2) (32-bit ABI): IPC_STAT fills msqid64_ds with each time's high word 0.
TEST(SysvMsg, Compat32StatClearsTimeHighFields) {
  CONFORM_MAN("msgctl(2)");
  CONFORM_ROWS("M42");
  if (!ia32_works()) CONFORM_SKIP(kNoIa32);
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_EQ(msg_send(q.id(), 1, "one"), 0);
  ASSERT_EQ(msg_send(q.id(), 1, "two"), 0);
  ASSERT_EQ(msg_receive(q.id(), 0, 8).err, 0);
  Low buf;
  ASSERT_TRUE(buf.ok());
  ASSERT_EQ(syscall32(kNr32Msgctl, q.id(), IPC_STAT, buf.addr()), 0);
  msqid_ds ds = msg_stat(q.id());
  EXPECT_EQ(buf.word(kMsgStime), static_cast<uint32_t>(ds.msg_stime));
  EXPECT_EQ(buf.word(kMsgRtime), static_cast<uint32_t>(ds.msg_rtime));
  EXPECT_EQ(buf.word(kMsgQnum), 1u);
  EXPECT_EQ(buf.word(kMsgQbytes), static_cast<uint32_t>(ds.msg_qbytes));
  buf.expect_zero({kMsgStime + 1, kMsgRtime + 1, kMsgCtime + 1});
}

// semctl(2) (32-bit ABI): IPC_STAT fills semid64_ds with each time's high word 0.
TEST(SysvSem, Compat32StatClearsTimeHighFields) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E35");
  if (!ia32_works()) CONFORM_SKIP(kNoIa32);
  IPCB_SYSV_MAKE(SemSet, s, 3);
  ASSERT_EQ(semop_one(s.id(), 0, 1), 0);
  Low buf;
  ASSERT_TRUE(buf.ok());
  ASSERT_EQ(syscall32(kNr32Semctl, s.id(), 0, IPC_STAT, buf.addr()), 0);
  semid_ds ds{};
  SemArg arg{};
  arg.buf = &ds;
  ASSERT_EQ(::semctl(s.id(), 0, IPC_STAT, arg), 0);
  EXPECT_EQ(buf.word(kSemOtime), static_cast<uint32_t>(ds.sem_otime));
  EXPECT_EQ(buf.word(kSemCtime), static_cast<uint32_t>(ds.sem_ctime));
  EXPECT_EQ(buf.word(kSemNsems), 3u);
  buf.expect_zero({kSemOtime + 1, kSemCtime + 1});
}

// msgrcv(2) (32-bit ABI): a negative msgtyp from a 32-bit caller keeps its sign: -3 takes the
// first message of the lowest type <= 3, with its length (the 32-bit msgbuf: a 4-byte mtype).
TEST(SysvMsg, Compat32NegativeTypeFindsMessage) {
  CONFORM_MAN("msgrcv(2)");
  CONFORM_ROWS("M34");
  if (!ia32_works()) CONFORM_SKIP(kNoIa32);
  IPCB_SYSV_MAKE(MsgQueue, q);
  const std::pair<long, const char*> sent[] = {{5, "five"}, {3, "three"}, {2, "two!!!"}};
  for (const auto& [type, text] : sent) ASSERT_EQ(msg_send(q.id(), type, text), 0);
  Low buf;
  ASSERT_TRUE(buf.ok());
  long n = syscall32(kNr32Msgrcv, q.id(), buf.addr(), 64, static_cast<uint32_t>(-3), IPC_NOWAIT);
  ASSERT_EQ(n, 6) << "errno " << -n;
  EXPECT_EQ(buf.word(0), 2u);
  EXPECT_EQ(std::memcmp(static_cast<char*>(buf.p) + 4, "two!!!", 6), 0);
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 2u);
}

}  // namespace ipcb::conform
