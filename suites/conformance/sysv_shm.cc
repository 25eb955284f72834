// Does System V shared memory (shmget(2), shmat(2), shmctl(2)) behave as documented here:
// lifetime and deferred destruction, errors, attach semantics, limits and permissions.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

constexpr int kSetupFailed = 250;  // a child's exit code when it could not set up its check
void* const kFailed = reinterpret_cast<void*>(-1);  // shmat's error return

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}
// The errno of a call that was expected to fail, or 0 if it succeeded.
int failed_with(long rc) {
  return rc == -1 ? errno : 0;
}
int failed_with(void* p) {
  return p == kFailed ? errno : 0;
}
std::string exited_with(int code) {
  return "child exited with " + std::to_string(code);
}

// kernel.shmmax, unsigned: its default (ULONG_MAX - 2^24) does not fit read_sysctl's long long.
std::optional<unsigned long long> shmmax() {
  std::ifstream f("/proc/sys/kernel/shmmax");
  unsigned long long v = 0;
  if (!(f >> v)) return std::nullopt;
  return v;
}

// Removes the segment under `key`, if any: the safety net for segments made in children.
void remove_key(key_t key) {
  int id = ::shmget(key, 0, 0);
  if (id >= 0) ::shmctl(id, IPC_RMID, nullptr);
}

// One test's segment: a fresh key, created exclusively, removed on every path.
class Segment {
 public:
  explicit Segment(size_t size, int mode = 0600) : key_(unique_key()) {
    id_ = ::shmget(key_, size, IPC_CREAT | IPC_EXCL | mode);
    err_ = errno;
  }
  ~Segment() {
    if (id_ >= 0) ::shmctl(id_, IPC_RMID, nullptr);
    remove_key(key_);
  }
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  key_t key() const { return key_; }
  int id() const { return id_; }
  std::string error() const { return std::strerror(err_); }

 private:
  key_t key_;
  int id_ = -1;
  int err_ = 0;
};

// One attachment, detached on every path.
class Attachment {
 public:
  explicit Attachment(int id, int flags = 0, const void* addr = nullptr)
      : p_(::shmat(id, addr, flags)), err_(errno) {}
  ~Attachment() { detach(); }
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;
  bool ok() const { return p_ != kFailed; }
  char* data() const { return static_cast<char*>(p_); }
  std::string error() const { return std::strerror(err_); }
  void detach() {
    if (ok()) ::shmdt(p_);
    p_ = kFailed;
  }

 private:
  void* p_;
  int err_;
};

shmid_ds stat_of(int id) {
  shmid_ds ds{};
  if (::shmctl(id, IPC_STAT, &ds) != 0) ADD_FAILURE() << "IPC_STAT: " << std::strerror(errno);
  return ds;
}

// A page-aligned address range nothing is mapped at (reserved, then released).
char* free_range(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  ::munmap(p, bytes);
  return static_cast<char*>(p);
}

// A page no access is allowed to (for EFAULT), unmapped on every path.
class InaccessiblePage {
 public:
  InaccessiblePage()
      : p_(::mmap(nullptr, page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) {}
  ~InaccessiblePage() {
    if (p_ != MAP_FAILED) ::munmap(p_, page_size());
  }
  InaccessiblePage(const InaccessiblePage&) = delete;
  InaccessiblePage& operator=(const InaccessiblePage&) = delete;
  void* get() const { return p_ == MAP_FAILED ? nullptr : p_; }

 private:
  void* p_;
};

// `fn` in a child that lacks CAP_IPC_OWNER: as nobody when we are root, else as ourselves.
ChildResult unprivileged(const std::function<int()>& fn) {
  return run_in_child([&] { return is_root() && !drop_to_nobody() ? kSetupFailed : fn(); });
}
// `fn` in a child running as nobody, another user than the (root) creator.
ChildResult as_nobody(const std::function<int()>& fn) {
  return run_in_child([&] { return drop_to_nobody() ? fn() : kSetupFailed; });
}

}  // namespace

// shmget(2): IPC_CREAT|IPC_EXCL on a key that has a segment fails with EEXIST.
TEST(SysvShm, ExclusiveCreateOnExistingKeyFailsEexist) {
  CONFORM_MAN("shmget(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(failed_with(::shmget(seg.key(), page_size(), IPC_CREAT | IPC_EXCL | 0600)), EEXIST);
}

// shmget(2): without IPC_CREAT, a key with no segment fails with ENOENT.
TEST(SysvShm, OpenMissingKeyWithoutCreateFailsEnoent) {
  CONFORM_MAN("shmget(2)");
  EXPECT_EQ(failed_with(::shmget(unique_key(), page_size(), 0600)), ENOENT);
}

// shmget(2): creating a segment smaller than SHMMIN (1 byte) fails with EINVAL.
TEST(SysvShm, CreateBelowShmminFailsEinval) {
  CONFORM_MAN("shmget(2)");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  EXPECT_EQ(failed_with(::shmget(key, 0, IPC_CREAT | IPC_EXCL | 0600)), EINVAL);
}

// shmget(2): creating a segment larger than SHMMAX (kernel.shmmax) fails with EINVAL.
TEST(SysvShm, CreateAboveShmmaxFailsEinval) {
  CONFORM_MAN("shmget(2)");
  auto max = shmmax().value_or(0);
  if (max == 0) CONFORM_SKIP("kernel.shmmax is not readable");
  if (max >= SIZE_MAX) CONFORM_SKIP("kernel.shmmax is SIZE_MAX: no size is above it");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  EXPECT_EQ(failed_with(::shmget(key, max + 1, IPC_CREAT | IPC_EXCL | 0600)), EINVAL);
}

// shmget(2): SHMMAX is the largest size allowed: exactly at it succeeds, one byte past fails.
TEST(SysvShm, CreateExactlyAtShmmaxSucceedsOnePastFails) {
  CONFORM_MAN("shmget(2)");
  constexpr long long kMax = 1 << 20;
  if (!is_root()) CONFORM_SKIP("needs root to lower kernel.shmmax to a reachable value");
  SysctlGuard guard("kernel.shmmax", kMax);
  if (!guard.ok()) CONFORM_SKIP("kernel.shmmax cannot be written (read-only /proc/sys?)");
  Segment at(kMax);
  EXPECT_GE(at.id(), 0) << at.error();
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  EXPECT_EQ(failed_with(::shmget(key, kMax + 1, IPC_CREAT | IPC_EXCL | 0600)), EINVAL);
}

// shmget(2): opening an existing segment with a size greater than its size fails with EINVAL;
// a size up to its size succeeds.
TEST(SysvShm, OpenLargerThanExistingFailsEinval) {
  CONFORM_MAN("shmget(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(failed_with(::shmget(seg.key(), page_size() + 1, 0600)), EINVAL);
  EXPECT_EQ(::shmget(seg.key(), page_size(), 0600), seg.id());
}

// shmget(2): the contents of a new segment are initialised to zero.
TEST(SysvShm, NewSegmentIsZeroFilled) {
  CONFORM_MAN("shmget(2)");
  Segment seg(2 * page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  Attachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  for (size_t i = 0; i < 2 * page_size(); ++i) ASSERT_EQ(a.data()[i], 0) << "byte " << i;
}

// shmget(2): the size is rounded up to a multiple of PAGE_SIZE (the whole page is usable), while
// shm_segsz reports the size requested.
TEST(SysvShm, SizeRoundsUpToPageButSegszIsRequested) {
  CONFORM_MAN("shmget(2)");
  Segment seg(100);
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(stat_of(seg.id()).shm_segsz, 100u);
  Attachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  a.data()[page_size() - 1] = 7;  // past the requested size, within the page: no fault
  EXPECT_EQ(a.data()[page_size() - 1], 7);
}

// shmget(2)/shmctl(2): a segment persists after its creator exits, contents included, until
// it is removed.
TEST(SysvShm, PersistsAfterCreatorExits) {
  CONFORM_MAN("shmget(2)");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  ChildResult r = run_in_child([key] {
    int id = ::shmget(key, page_size(), IPC_CREAT | IPC_EXCL | 0600);
    void* p = id < 0 ? kFailed : ::shmat(id, nullptr, 0);
    if (p == kFailed) return kSetupFailed;
    std::strcpy(static_cast<char*>(p), "left behind");
    return 0;  // exits without shmdt or IPC_RMID
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  int id = ::shmget(key, 0, 0);
  ASSERT_GE(id, 0) << "segment gone with its creator: " << std::strerror(errno);
  Attachment a(id);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_STREQ(a.data(), "left behind");
  EXPECT_EQ(stat_of(id).shm_nattch, 1u);  // the creator's attachment ended with it
}

// shmctl(2): IPC_RMID only marks an attached segment for destruction (SHM_DEST); it stays
// usable by those attached until the last one detaches.
TEST(SysvShm, IpcRmidWhileAttachedDefersDestruction) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  Attachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  a.data()[0] = 'x';
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  shmid_ds ds = stat_of(seg.id());
  EXPECT_TRUE(ds.shm_perm.mode & SHM_DEST) << "mode " << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(a.data()[0], 'x');
  a.data()[1] = 'y';
  EXPECT_EQ(a.data()[1], 'y');
}

// shmctl(2): once marked for destruction the segment's key becomes IPC_PRIVATE, so the old key
// no longer finds it.
TEST(SysvShm, RemovedSegmentKeyBecomesIpcPrivate) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  Attachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(stat_of(seg.id()).shm_perm.__key, IPC_PRIVATE);
  EXPECT_EQ(failed_with(::shmget(seg.key(), 0, 0)), ENOENT);
}

// shmget(2)/shmctl(2): after IPC_RMID a new shmget with the same key creates a new, zeroed
// segment, while the old one lives on for those still attached.
TEST(SysvShm, CreateAfterIpcRmidMakesNewSegment) {
  CONFORM_MAN("shmget(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  Attachment old(seg.id());
  ASSERT_TRUE(old.ok()) << old.error();
  old.data()[0] = 'o';
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  int fresh = ::shmget(seg.key(), page_size(), IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(fresh, 0) << std::strerror(errno);
  Cleanup rm([fresh] { ::shmctl(fresh, IPC_RMID, nullptr); });
  EXPECT_NE(fresh, seg.id());
  Attachment now(fresh);
  ASSERT_TRUE(now.ok()) << now.error();
  EXPECT_EQ(now.data()[0], 0);
  EXPECT_EQ(old.data()[0], 'o');
}

// shmctl(2): a segment marked for destruction is destroyed when the last process detaches;
// its id is then invalid (EINVAL).
TEST(SysvShm, DestroyedAtLastDetach) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  Attachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  a.detach();
  shmid_ds ds{};
  EXPECT_EQ(failed_with(::shmctl(seg.id(), IPC_STAT, &ds)), EINVAL);
}

// shmctl(2) NOTES: Linux lets a process attach, by id, a segment marked for destruction.
TEST(SysvShm, AttachAfterIpcRmidAllowedOnLinux) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  Attachment first(seg.id());
  ASSERT_TRUE(first.ok()) << first.error();
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  Attachment second(seg.id());
  EXPECT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(stat_of(seg.id()).shm_nattch, 2u);
}

// shmat(2): on error shmat returns (void *) -1 with errno set; an invalid shmid is EINVAL.
TEST(SysvShm, ShmatBadIdReturnsMinusOneEinval) {
  CONFORM_MAN("shmat(2)");
  void* p = ::shmat(-1, nullptr, 0);
  int err = errno;
  EXPECT_EQ(p, kFailed);
  EXPECT_EQ(err, EINVAL);
}

// shmat(2): a shmaddr that is not page-aligned, without SHM_RND, fails with EINVAL.
TEST(SysvShm, ShmatUnalignedAddressWithoutRndFailsEinval) {
  CONFORM_MAN("shmat(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  char* base = free_range(2 * page_size());
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(failed_with(::shmat(seg.id(), base + 1, 0)), EINVAL);
}

// shmat(2): with SHM_RND the address is rounded down to a multiple of SHMLBA.
TEST(SysvShm, ShmRndRoundsAddressDownToShmlba) {
  CONFORM_MAN("shmat(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  const size_t lba = SHMLBA;
  char* base = free_range(3 * lba);
  ASSERT_NE(base, nullptr);
  char* want = base + lba;
  Attachment a(seg.id(), SHM_RND, want + 1);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a.data(), want);
}

// shmat(2): attaching over an existing mapping fails with EINVAL unless SHM_REMAP is given,
// which replaces the mapping.
TEST(SysvShm, ShmRemapReplacesExistingMapping) {
  CONFORM_MAN("shmat(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  void* m =
      ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  Cleanup unmap([m] { ::munmap(m, page_size()); });
  static_cast<char*>(m)[0] = 'm';
  EXPECT_EQ(failed_with(::shmat(seg.id(), m, 0)), EINVAL);
  Attachment a(seg.id(), SHM_REMAP, m);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a.data(), m);
  EXPECT_EQ(a.data()[0], 0);  // the segment's page, not the anonymous one
}

// shmat(2): SHM_REMAP with a NULL shmaddr fails with EINVAL.
TEST(SysvShm, ShmRemapWithNullAddressFailsEinval) {
  CONFORM_MAN("shmat(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(failed_with(::shmat(seg.id(), nullptr, SHM_REMAP)), EINVAL);
}

// shmat(2): with SHM_RDONLY the segment is attached for reading only; a write faults (SIGSEGV).
TEST(SysvShm, ReadOnlyAttachFaultsOnWrite) {
  CONFORM_MAN("shmat(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ChildResult r = run_in_child([&seg] {
    ::prctl(PR_SET_DUMPABLE, 0);  // no core file
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    void* p = ::shmat(seg.id(), nullptr, SHM_RDONLY);
    if (p == kFailed) return kSetupFailed;
    volatile char* c = static_cast<char*>(p);
    if (c[0] != 0) return 1;  // reading is allowed
    c[0] = 1;
    return 0;
  });
  EXPECT_EQ(r.signal, SIGSEGV) << r.describe();
}

// shmdt(2): an address with no segment attached (or not page-aligned) fails with EINVAL.
TEST(SysvShm, ShmdtWithoutAttachmentFailsEinval) {
  CONFORM_MAN("shmdt(2)");
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(::shmdt(page.get())), EINVAL);
  EXPECT_EQ(failed_with(::shmdt(static_cast<char*>(page.get()) + 1)), EINVAL);
}

// shmctl(2): shm_nattch counts current attaches; shmat increments it and shmdt decrements it.
TEST(SysvShm, AttachCountTracksAttachAndDetach) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(stat_of(seg.id()).shm_nattch, 0u);
  Attachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(stat_of(seg.id()).shm_nattch, 1u);
  Attachment b(seg.id(), SHM_RDONLY);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(stat_of(seg.id()).shm_nattch, 2u);
  a.detach();
  EXPECT_EQ(stat_of(seg.id()).shm_nattch, 1u);
}

// shmat(2): after fork(2) the child inherits the attached segments (the attach count grows)
// and shares their memory with the parent.
TEST(SysvShm, ForkedChildInheritsAttachment) {
  CONFORM_MAN("shmat(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  Attachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  ChildResult r = run_in_child([&] {
    shmid_ds ds{};
    if (::shmctl(seg.id(), IPC_STAT, &ds) != 0) return kSetupFailed;
    a.data()[0] = 'c';
    return static_cast<int>(ds.shm_nattch);
  });
  EXPECT_EQ(r.describe(), exited_with(2));
  EXPECT_EQ(a.data()[0], 'c');
}

// shmctl(2): shm_cpid is the creator's PID and shm_lpid the PID of the last shmat/shmdt.
TEST(SysvShm, CreatorAndLastAttachPidsRecorded) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(stat_of(seg.id()).shm_cpid, ::getpid());
  ChildResult r = run_in_child([&seg] {
    void* p = ::shmat(seg.id(), nullptr, 0);
    if (p == kFailed) return kSetupFailed;
    shmid_ds ds{};
    ::shmctl(seg.id(), IPC_STAT, &ds);
    return ds.shm_lpid == ::getpid() ? 0 : 1;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
  EXPECT_NE(stat_of(seg.id()).shm_lpid, ::getpid());  // the child's exit detached last
}

// shmctl(2): an invalid cmd fails with EINVAL.
TEST(SysvShm, ShmctlInvalidCommandFailsEinval) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  shmid_ds ds{};
  EXPECT_EQ(failed_with(::shmctl(seg.id(), 12345, &ds)), EINVAL);
}

// shmctl(2): IPC_STAT into an inaccessible buffer fails with EFAULT.
TEST(SysvShm, IpcStatToBadBufferFailsEfault) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(::shmctl(seg.id(), IPC_STAT, static_cast<shmid_ds*>(page.get()))), EFAULT);
}

// shmctl(2): IPC_INFO reports the system limits; shmmax is kernel.shmmax.
TEST(SysvShm, IpcInfoReportsShmmax) {
  CONFORM_MAN("shmctl(2)");
  auto max = shmmax();
  if (!max) CONFORM_SKIP("kernel.shmmax is not readable");
  shminfo info{};
  ASSERT_GE(::shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&info)), 0) << std::strerror(errno);
  EXPECT_EQ(static_cast<unsigned long long>(info.shmmax), *max);
}

// shmctl(2): IPC_SET by the owner changes the permission bits of shm_perm.mode.
TEST(SysvShm, IpcSetByOwnerChangesMode) {
  CONFORM_MAN("shmctl(2)");
  Segment seg(page_size(), 0600);
  ASSERT_GE(seg.id(), 0) << seg.error();
  shmid_ds ds = stat_of(seg.id());
  ds.shm_perm.mode = 0640;
  ASSERT_EQ(::shmctl(seg.id(), IPC_SET, &ds), 0) << std::strerror(errno);
  EXPECT_EQ(stat_of(seg.id()).shm_perm.mode & 0777, 0640);
}

// shmat(2)/shmctl(2): mode bits bind the owner too: no write permission → a read-write attach
// fails with EACCES (read-only works); no read permission → IPC_STAT fails with EACCES.
TEST(SysvShm, OwnerWithoutPermissionGetsEacces) {
  CONFORM_MAN("shmat(2)");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  ChildResult r = unprivileged([key] {
    int id = ::shmget(key, page_size(), IPC_CREAT | IPC_EXCL | 0400);
    if (id < 0) return kSetupFailed;
    Cleanup rm([id] { ::shmctl(id, IPC_RMID, nullptr); });
    if (failed_with(::shmat(id, nullptr, 0)) != EACCES) return 1;
    void* ro = ::shmat(id, nullptr, SHM_RDONLY);
    if (ro == kFailed) return 2;
    ::shmdt(ro);
    shmid_ds ds = {};
    ds.shm_perm.uid = ::geteuid();
    ds.shm_perm.gid = ::getegid();
    ds.shm_perm.mode = 0200;
    if (::shmctl(id, IPC_SET, &ds) != 0) return 3;
    return failed_with(::shmctl(id, IPC_STAT, &ds)) == EACCES ? 0 : 4;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
}

// shmget(2)/shmat(2): another user without permission on a 0600 segment gets EACCES.
TEST(SysvShm, OtherUserWithoutPermissionGetsEacces) {
  CONFORM_MAN("shmget(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  Segment seg(page_size(), 0600);
  ASSERT_GE(seg.id(), 0) << seg.error();
  ChildResult get = as_nobody([&seg] { return failed_with(::shmget(seg.key(), 0, 0600)); });
  EXPECT_EQ(get.describe(), exited_with(EACCES));
  ChildResult at = as_nobody([&seg] { return failed_with(::shmat(seg.id(), nullptr, 0)); });
  EXPECT_EQ(at.describe(), exited_with(EACCES));
}

// shmctl(2): IPC_SET and IPC_RMID by a user that is neither creator nor owner fail with EPERM.
TEST(SysvShm, ControlByNonOwnerFailsEperm) {
  CONFORM_MAN("shmctl(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  Segment seg(page_size(), 0666);
  ASSERT_GE(seg.id(), 0) << seg.error();
  ChildResult set = as_nobody([&seg] {
    shmid_ds ds{};
    if (::shmctl(seg.id(), IPC_STAT, &ds) != 0) return kSetupFailed;
    return failed_with(::shmctl(seg.id(), IPC_SET, &ds));
  });
  EXPECT_EQ(set.describe(), exited_with(EPERM));
  ChildResult rm = as_nobody([&seg] { return failed_with(::shmctl(seg.id(), IPC_RMID, nullptr)); });
  EXPECT_EQ(rm.describe(), exited_with(EPERM));
  EXPECT_GE(::shmget(seg.key(), 0, 0), 0) << "the segment is gone";
}

}  // namespace ipcb::conform
