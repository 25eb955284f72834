// Does System V shared memory backed by huge pages (shmget(2) SHM_HUGETLB) behave as documented
// here: who may create it, what happens with no huge pages, sizes that are not a huge page
// multiple, data kept across attaches and pages given back when the segment goes. Huge pages
// are reserved by raising vm.nr_hugepages (machine-wide) under a SysctlGuard, only as long as a
// test needs them and only as far as it needs them.
#include <grp.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

constexpr int kCapIpcLock = 14;  // CAP_IPC_LOCK, capability(7)

// The HugePages_* and Hugepagesize lines of /proc/meminfo (Hugepagesize in bytes).
std::map<std::string, long long> huge_meminfo() {
  std::map<std::string, long long> m;
  std::ifstream f("/proc/meminfo");
  std::string name;
  long long v = 0;
  std::string unit;
  while (f >> name >> v) {
    std::getline(f, unit);
    if (name.rfind("HugePages_", 0) == 0) m[name.substr(0, name.size() - 1)] = v;
    if (name == "Hugepagesize:") m["Hugepagesize"] = v * 1024;
  }
  return m;
}

// Default-size huge pages free and not promised to any mapping.
long long huge_available() {
  auto m = huge_meminfo();
  return m["HugePages_Free"] - m["HugePages_Rsvd"];
}

size_t huge_page_size() {
  return static_cast<size_t>(huge_meminfo()["Hugepagesize"]);
}

// Makes `n` default-size huge pages available for the guard's lifetime: if fewer are, raises
// vm.nr_hugepages by the shortfall (root only) and restores it after. why() says what failed.
class HugePages {
 public:
  explicit HugePages(long long n) {
    if (huge_page_size() == 0) {
      why_ = "no hugetlbfs here (no Hugepagesize in /proc/meminfo: CONFIG_HUGETLBFS off)";
      return;
    }
    long long shortfall = n - huge_available();
    if (shortfall > 0) {
      auto total = read_sysctl("vm.nr_hugepages");
      if (!is_root() || !total) {
        why_ = "needs " + std::to_string(n) + " free huge pages (vm.nr_hugepages), or root";
        return;
      }
      guard_ = std::make_unique<SysctlGuard>("vm.nr_hugepages", *total + shortfall);
    }
    if (huge_available() < n) {
      why_ = "could not reserve " + std::to_string(n) + " huge pages (memory too fragmented?)";
    }
  }
  bool ok() const { return why_.empty(); }
  const std::string& why() const { return why_; }

 private:
  std::unique_ptr<SysctlGuard> guard_;
  std::string why_;
};

// Waits (at most 1 s) until `n` huge pages are available again; returns how many are.
long long wait_available(long long n) {
  for (int i = 0; i < 1000 && huge_available() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return huge_available();
}

}  // namespace

// shmget(2): SHM_HUGETLB needs CAP_IPC_LOCK or membership of vm.hugetlb_shm_group; nobody, in
// no group, with RLIMIT_MEMLOCK 0, gets EPERM. The same call by nobody with that group as a
// supplementary group succeeds (one huge page is made available for it).
TEST(SysvShm, HugetlbWithoutCapabilityOrGroupFailsEperm) {
  CONFORM_MAN("shmget(2)");
  CONFORM_ROWS("S07");
  if (!is_root()) CONFORM_SKIP("needs root to act as nobody with and without the group");
  auto group = read_sysctl("vm.hugetlb_shm_group");
  if (!group) CONFORM_SKIP("vm.hugetlb_shm_group is not readable (no hugetlbfs?)");
  if (*group == 65534) CONFORM_SKIP("vm.hugetlb_shm_group is nobody's group (65534)");
  HugePages pages(1);
  if (!pages.ok()) CONFORM_SKIP(pages.why());
  const size_t hps = huge_page_size();
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  auto try_as_nobody = [key, hps](bool in_group, gid_t g) {
    return run_in_child([=] {
      gid_t groups[1] = {g};
      if (::setgroups(in_group ? 1 : 0, groups) != 0) return kSetupFailed;
      rlimit none{0, 0};
      if (::setrlimit(RLIMIT_MEMLOCK, &none) != 0) return kSetupFailed;
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) return kSetupFailed;
      int id = ::shmget(key, hps, IPC_CREAT | IPC_EXCL | SHM_HUGETLB | 0600);
      if (id < 0) return errno;
      ::shmctl(id, IPC_RMID, nullptr);
      return 0;
    });
  };
  auto g = static_cast<gid_t>(*group);
  EXPECT_EQ(try_as_nobody(false, g).describe(), exited_with(EPERM));
  EXPECT_EQ(try_as_nobody(true, g).describe(), exited_with(0)) << "the group's member is refused";
}

// shmget(2): SHM_HUGETLB with no huge pages available fails with ENOMEM, even for root.
TEST(SysvShm, HugetlbWithNoHugePagesFailsEnomem) {
  CONFORM_MAN("shmget(2)");
  CONFORM_ROWS("S08");
  if (!has_capability(kCapIpcLock)) CONFORM_SKIP("needs CAP_IPC_LOCK (root) to pass EPERM");
  const size_t hps = huge_page_size();
  if (hps == 0) CONFORM_SKIP("no hugetlbfs here (CONFIG_HUGETLBFS off)");
  if (long long n = huge_available(); n > 0) {
    CONFORM_SKIP(std::to_string(n) + " huge pages are available (vm.nr_hugepages): ENOMEM needs 0");
  }
  if (read_sysctl("vm.nr_overcommit_hugepages").value_or(0) != 0)
    CONFORM_SKIP("vm.nr_overcommit_hugepages is not 0: surplus huge pages may be allocated");
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  EXPECT_EQ(failed_with(::shmget(key, hps, IPC_CREAT | IPC_EXCL | SHM_HUGETLB | 0600)), ENOMEM);
}

// shmget(2)/shmat(2): an SHM_HUGETLB size that is not a multiple of the huge page size (4 huge
// pages less a page, less a page and a byte; one huge page; one huge page and a byte) is
// rounded up to whole huge pages: create, attach, touching every huge page of the rounded
// size, and detach all succeed, and shm_segsz is the size asked for.
TEST(SysvShm, HugetlbSizeRoundedUpToHugePages) {
  CONFORM_MAN("shmget(2)");
  CONFORM_ROWS("S12");
  HugePages pages(4);
  if (!pages.ok()) CONFORM_SKIP(pages.why());
  const size_t hps = huge_page_size();
  const size_t pg = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  for (size_t size : {4 * hps - pg, 4 * hps - pg - 1, hps, hps + 1}) {
    SCOPED_TRACE("size " + std::to_string(size));
    key_t key = unique_key();
    Cleanup sweep = sweep_key(Sysv::kShm, key);
    int id = ::shmget(key, size, IPC_CREAT | IPC_EXCL | SHM_HUGETLB | 0600);
    ASSERT_GE(id, 0) << std::strerror(errno);
    EXPECT_EQ(shm_stat(id).shm_segsz, size);
    char* p = static_cast<char*>(::shmat(id, nullptr, 0));
    ASSERT_NE(p, kShmatFailed) << std::strerror(errno);
    const size_t rounded = (size + hps - 1) / hps * hps;
    for (size_t off = 0; off < rounded; off += hps) p[off] = 'h';
    p[size - 1] = 'e';
    p[rounded - 1] = 'r';
    EXPECT_EQ(p[size - 1] + 0, rounded - 1 == size - 1 ? 'r' : 'e');
    EXPECT_EQ(::shmdt(p), 0) << std::strerror(errno);
  }
}

// shmget(2)/shmat(2): an SHM_HUGETLB segment keeps its data across detach and re-attach,
// round after round; once the last process that had it attached exits (after IPC_RMID) its
// huge pages are free again. Also for a segment over 1 GiB attached at the same 1 GiB-aligned
// address by two processes (which may share page tables): a few pages are touched, not all.
TEST(SysvShm, HugetlbDataKeptAndPagesFreedAtExit) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S13");
  const size_t hps = huge_page_size();
  const size_t big = hps == 0 ? 0 : (1UL << 30) / hps + 1;  // huge pages of the big segment
  HugePages pages(static_cast<long long>(big));
  if (!pages.ok()) CONFORM_SKIP(pages.why());
  if (read_sysctl_u64("kernel.shmmax").value_or(0) < big * hps)
    CONFORM_SKIP("kernel.shmmax is below 1 GiB and a huge page");
  const long long before = huge_available();
  key_t small_key = unique_key();
  Cleanup sweep_small = sweep_key(Sysv::kShm, small_key);
  ChildResult small = run_in_child([hps, small_key] {
    int id = ::shmget(small_key, 2 * hps, IPC_CREAT | IPC_EXCL | SHM_HUGETLB | 0600);
    char* p =
        id < 0 ? static_cast<char*>(kShmatFailed) : static_cast<char*>(::shmat(id, nullptr, 0));
    if (p == kShmatFailed) return child_fail(kSetupFailed, "SHM_HUGETLB segment");
    for (int round = 0; round < 3; ++round) {
      for (size_t i = 0; i < 2 * hps; i += 61) p[i] = static_cast<char>(i * 7 + round);
      if (::shmdt(p) != 0) return 1;
      p = static_cast<char*>(::shmat(id, nullptr, 0));
      if (p == kShmatFailed) return 2;
      for (size_t i = 0; i < 2 * hps; i += 61) {
        if (p[i] != static_cast<char>(i * 7 + round)) return 3;
      }
    }
    // Destroyed at the last detach, which is this process's exit.
    return ::shmctl(id, IPC_RMID, nullptr) == 0 ? 0 : 4;
  });
  EXPECT_EQ(small.describe(), exited_with(0))
      << "1: shmdt; 2: re-attach; 3: data changed; 4: IPC_RMID";
  EXPECT_EQ(wait_available(before), before) << "huge pages not freed after the exit";

  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  int id = ::shmget(key, big * hps, IPC_CREAT | IPC_EXCL | SHM_HUGETLB | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  auto touch = [id, hps] {
    // Each child reserves 2 GiB of its own address space and attaches at a 1 GiB boundary inside
    // it (SHM_REMAP over its own reservation): an address picked before the children exist may
    // be taken by then (the first child's waiting thread's stack, inherited by the second).
    void* area =
        ::mmap(nullptr, 2UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) return child_fail(1, "mmap of a 2 GiB reservation");
    auto at = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(area) + (1UL << 30) - 1) &
                                      ~((1UL << 30) - 1));
    char* p = static_cast<char*>(::shmat(id, at, SHM_REMAP));
    if (p == kShmatFailed) return child_fail(1, "shmat at a 1 GiB boundary");
    for (size_t i = 0; i < 8; ++i) p[i * 64 * hps] += 1;
    return 0;
  };
  auto first = in_child_async(touch);
  ChildResult second = run_in_child(touch);
  EXPECT_EQ(first.get().describe(), exited_with(0));
  EXPECT_EQ(second.describe(), exited_with(0));
  ASSERT_EQ(::shmctl(id, IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(wait_available(before), before) << "huge pages of the big segment not freed";
}

}  // namespace ipcb::conform
