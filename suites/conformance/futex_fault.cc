// Conformance of futex(2) at the edges of memory: EFAULT for futex words and timeouts that are
// unmapped, inaccessible or beyond the end of a mapped file, and distinct wake-ups for two
// shared futexes inside one huge page.
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <fstream>
#include <future>
#include <optional>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

long futex(void* uaddr, int op, uint32_t val, const void* timeout = nullptr) {
  return ::syscall(SYS_futex, uaddr, op, val, timeout, nullptr, 0);
}

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// An address with nothing mapped: the middle page of a three-page reservation is unmapped; its
// neighbours stay reserved (PROT_NONE) until the scope ends, so nothing else lands there.
class Hole {
 public:
  Hole() : base_(::mmap(nullptr, 3 * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) {
    if (base_ != MAP_FAILED) ::munmap(static_cast<char*>(base_) + kPage, kPage);
  }
  ~Hole() {
    if (base_ != MAP_FAILED) ::munmap(base_, 3 * kPage);
  }
  Hole(const Hole&) = delete;
  Hole& operator=(const Hole&) = delete;
  void* get() const { return base_ == MAP_FAILED ? nullptr : static_cast<char*>(base_) + kPage; }

 private:
  void* base_;
};

// Two addresses futex(2) cannot use: nothing mapped (a Hole), and an inaccessible page.
struct BadAddresses {
  Hole hole;
  InaccessiblePage none;
  bool ok() const { return hole.get() != nullptr && none.get() != nullptr; }
};

// futex(2) FUTEX_WAIT: EFAULT when uaddr is unmapped or inaccessible (PROT_NONE), or when the
// timeout points to unmapped memory; private and shared futexes alike.
TEST(Futex, WaitOnUnmappedAddressOrTimeoutFailsEfault) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X07");
  BadAddresses bad;
  ASSERT_TRUE(bad.ok());
  uint32_t word = 0;
  timespec t{1, 0};
  for (int op : {FUTEX_WAIT_PRIVATE, FUTEX_WAIT}) {
    SCOPED_TRACE(op == FUTEX_WAIT ? "shared" : "private");
    EXPECT_EQ(failed_with(futex(bad.hole.get(), op, 0, &t)), EFAULT) << "unmapped uaddr";
    EXPECT_EQ(failed_with(futex(bad.none.get(), op, 0, &t)), EFAULT) << "PROT_NONE uaddr";
    EXPECT_EQ(failed_with(futex(&word, op, 0, bad.hole.get())), EFAULT) << "unmapped timeout";
  }
}

// futex(2) FUTEX_WAKE on a shared futex: EFAULT when uaddr is unmapped, PROT_NONE, or in a file
// mapping beyond the end of the file (the kernel must find the page to build the key).
TEST(Futex, SharedWakeOnBadAddressFailsEfault) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X12");
  BadAddresses bad;
  ASSERT_TRUE(bad.ok());
  TempDir dir;
  Fd fd(::open(dir.file("empty").c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_GE(fd.get(), 0);
  Mapping past_eof(fd.get(), kPage);  // the file is empty: the whole page is past its end
  ASSERT_TRUE(past_eof.ok());
  EXPECT_EQ(failed_with(futex(bad.hole.get(), FUTEX_WAKE, 1)), EFAULT) << "unmapped";
  EXPECT_EQ(failed_with(futex(bad.none.get(), FUTEX_WAKE, 1)), EFAULT) << "PROT_NONE";
  EXPECT_EQ(failed_with(futex(past_eof.p, FUTEX_WAKE, 1)), EFAULT) << "past EOF";
}

// The default huge page size in bytes (/proc/meminfo Hugepagesize), 0 if unknown.
size_t huge_page_size() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  size_t kb = 0;
  while (f >> key) {
    if (key == "Hugepagesize:" && (f >> kb)) return kb * 1024;
    f.ignore(1 << 10, '\n');
  }
  return 0;
}

void* map_huge(size_t len) {
  return ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1,
                0);
}

// A child that waits (shared FUTEX_WAIT, 5 s) on `word` while it is 0; publishes its pid first.
// Exits 0 when woken, 1 on timeout, 2 on another error.
std::future<ChildResult> huge_waiter(uint32_t* word, pid_t* pid) {
  return std::async(std::launch::async, [=] {
    return run_in_child([=] {
      __atomic_store_n(pid, ::getpid(), __ATOMIC_SEQ_CST);
      timespec t{5, 0};
      long rc = futex(word, FUTEX_WAIT, 0, &t);
      return rc == 0 ? 0 : errno == ETIMEDOUT ? 1 : 2;
    });
  });
}

bool published_and_blocked(pid_t* pid) {
  for (int i = 0; i < 5000 && __atomic_load_n(pid, __ATOMIC_SEQ_CST) == 0; ++i) ::usleep(1000);
  pid_t p = __atomic_load_n(pid, __ATOMIC_SEQ_CST);
  return p != 0 && wait_until_blocked(p, 5000);
}

// futex(2): two shared futexes in one huge page (in its first and its second small page) are
// distinct: a wake of one wakes its own waiter and not the other's. Without a free huge page,
// root reserves one for the test (vm.nr_hugepages + 1, restored after).
TEST(Futex, SharedFutexesInOneHugePageAreDistinct) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X11");
  size_t hps = huge_page_size();
  if (hps == 0) CONFORM_SKIP("no huge page size in /proc/meminfo (CONFIG_HUGETLBFS off)");
  std::optional<SysctlGuard> reserve;
  void* p = map_huge(hps);
  if (p == MAP_FAILED && is_root()) {
    auto now = read_sysctl("vm.nr_hugepages");
    if (now) reserve.emplace("vm.nr_hugepages", *now + 1);
    p = map_huge(hps);
  }
  if (p == MAP_FAILED) {
    CONFORM_SKIP("no free huge page (vm.nr_hugepages "
                 << read_sysctl("vm.nr_hugepages").value_or(-1) << ") and "
                 << (is_root() ? "raising vm.nr_hugepages by one gave none (no memory for it)"
                               : "only root may reserve one (vm.nr_hugepages)"));
  }
  Cleanup unmap([p, hps] { ::munmap(p, hps); });  // before the reservation is given back
  auto* first = static_cast<uint32_t*>(p);
  auto* second = reinterpret_cast<uint32_t*>(static_cast<char*>(p) + kPage);
  struct Pids {
    pid_t a, b;
  };
  SharedMemory<Pids> pids;
  ASSERT_TRUE(pids.ok());
  auto a = huge_waiter(first, &pids->a);
  auto b = huge_waiter(second, &pids->b);
  Cleanup release([first, second] {
    for (uint32_t* w : {first, second}) {
      __atomic_store_n(w, 1, __ATOMIC_SEQ_CST);
      futex(w, FUTEX_WAKE, INT_MAX);
    }
  });
  ASSERT_TRUE(published_and_blocked(&pids->a)) << "the first waiter never blocked";
  ASSERT_TRUE(published_and_blocked(&pids->b)) << "the second waiter never blocked";
  EXPECT_EQ(futex(second, FUTEX_WAKE, 1), 1);
  ASSERT_EQ(b.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "the wake of the second futex did not reach its waiter";
  ChildResult rb = b.get();
  EXPECT_CHILD_OK(rb);
  EXPECT_EQ(a.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the first waiter was woken by the second futex's wake";
  EXPECT_EQ(futex(first, FUTEX_WAKE, 1), 1);
  ChildResult ra = a.get();
  EXPECT_CHILD_OK(ra);
}

}  // namespace
}  // namespace ipcb::conform
