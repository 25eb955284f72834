// Faults of the resources under a run: a segment file truncated mid-run by a third process; a
// /dev/shm too small for every segment of a fan-in (in a private mount namespace, so the
// machine's /dev/shm is untouched), also filled up between the run's size check and its
// allocation; RLIMIT_NPROC too low for the peers (as nobody). Each must end the run with a
// message naming the cause, never a crash, and leave nothing behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "tests/fault_proc.h"
#include "tests/fault_segment.h"
#include "tests/fault_util.h"

namespace ipcb::test::fault {
namespace {
namespace fs = std::filesystem;

using FaultResources = FaultTest;

// ftruncate through /proc/PID/map_files (the name is gone once the peer connected): every later
// access to the cut pages raises SIGBUS in both processes.
TEST_F(FaultResources, SegmentTruncatedMidRun) {
  struct Case {
    const char* backend;
    const char* sync;
    off_t length;
  };
  std::vector<Case> cases;
  for (const char* b : {"posix_shm", "mmap_file"}) {
    for (const char* s : {"futex", "spin"}) {
      for (off_t len : {off_t{0}, off_t{4096}}) cases.push_back({b, s, len});
    }
  }
  in_parallel(cases.size(), 4, [&](size_t i) {
    const Case& c = cases[i];
    const std::string what = std::string(c.backend) + "/" + c.sync + ": segment truncated to " +
                             std::to_string(c.length) + " bytes mid-run";
    Sandbox box("truncate");
    Bench r(box, run_args(box, c.backend, c.sync, "pingpong", 30));
    pid_t peer = steady_peer(r.pid(), 0.3, 15);
    auto view = peer > 0 ? find_view(r.pid(), c.backend, box.mmap(), 1) : std::nullopt;
    int fd = view ? open_mapped_file(r.pid(), view->map) : -1;
    if (fd < 0 || ::ftruncate(fd, c.length) != 0) {
      ADD_FAILURE() << what << ": could not truncate (" << r.wait(0).describe() << ")";
      if (fd >= 0) ::close(fd);
      return;
    }
    ::close(fd);
    Expect x;
    x.any_of = {"SIGBUS", "truncated", "Bus error"};
    x.deadline_s = r.age() + kTimeoutMs / 1000.0 + kSlackS;
    expect_outcome(what, r.wait(x.deadline_s + 1), box, x);
    EXPECT_TRUE(reap_survivors({peer}, 2).empty()) << what << ": the peer outlived the run";
  });
}

// A private /dev/shm of `size` (tmpfs), for runs that join the namespace.
std::unique_ptr<MountNs> small_dev_shm(const char* size) {
  std::string opts = std::string("size=") + size + ",mode=1777";
  return std::make_unique<MountNs>(
      [opts] { return ::mount("tmpfs", "/dev/shm", "tmpfs", 0, opts.c_str()) == 0; });
}

// What a run says when /dev/shm has no room for a segment.
const std::vector<std::string> kNoSpace = {"free space", "No space left on device"};

// The run must end within 30 s with one of `exit_codes`, its output naming the cause (one of
// `any_of`), and leave nothing behind.
void expect_ends_naming_the_cause(const std::string& what, Bench& r, const Sandbox& box,
                                  std::vector<int> exit_codes, std::vector<std::string> any_of) {
  Expect x;
  x.exit_codes = std::move(exit_codes);
  x.any_of = std::move(any_of);
  x.deadline_s = 30;
  expect_outcome(what, r.wait(31), box, x);
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  return out;
}

// fanin --fan 2 of 64 KiB messages needs two segments of ~516 KiB: each fits a 1 MiB /dev/shm
// by itself, both do not. The run (limit probe on, as a user runs it) must skip naming the
// free space, or fail naming it, and leave no segment in that /dev/shm.
TEST_F(FaultResources, SmallDevShmForEverySegmentOfAFanIn) {
  for (const char* backend : {"posix_shm", "mmap_file"}) {
    const std::string what = std::string(backend) + " fanin --fan 2 --size 64K, 1 MiB /dev/shm";
    auto ns = small_dev_shm("1m");
    ASSERT_TRUE(ns->ok()) << "cannot mount a private /dev/shm";
    Sandbox box("small-shm");
    Spawn in;
    in.prepare = ns->join();
    in.env = {"IPCBENCH_MMAP_DIR=/dev/shm"};
    Bench r(box,
            {"run", "--backend", backend, "--sync", "futex", "--workload", "fanin", "--fan", "2",
             "--size", "64K", "--min-time", "0.05", "--timeout-ms", "1000", "--no-floors",
             "--no-preflight", "--out", box.out()},
            in);
    expect_ends_naming_the_cause(what, r, box, {0, 1}, kNoSpace);
    auto left = entries(ns->outside("/dev/shm"));
    EXPECT_TRUE(left.empty()) << what << ": " << left.size() << " file(s) left in that /dev/shm, "
                              << (left.empty() ? "" : left.front());
  }
}

// The same space taken by another process between the run's check and its allocation: the
// harness is held by ptrace at its first ftruncate (the segment's sizing, after every check),
// a filler takes all of /dev/shm, then the harness goes on.
TEST_F(FaultResources, DevShmFilledBetweenCheckAndAllocation) {
  auto ns = small_dev_shm("4m");
  ASSERT_TRUE(ns->ok()) << "cannot mount a private /dev/shm";
  Sandbox box("fill-shm");
  Spawn in;
  in.prepare = ns->join();
  Bench r(box, run_args(box, "posix_shm", "futex", "pingpong", 0.05), in);
  const std::string what = "posix_shm pingpong 64 B, /dev/shm filled before the segment is sized";
  {
    Tracer t(r.pid());
    ASSERT_TRUE(t.attached() && t.run_to_syscall(SYS_ftruncate, 20))
        << "the harness never sized a segment (" << r.wait(0).describe() << ")";
    int fd = ::open(ns->outside("/dev/shm/filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    std::vector<char> chunk(1 << 16, 'x');
    while (::write(fd, chunk.data(), chunk.size()) > 0) {
    }
    ::close(fd);
  }  // the tracer lets the harness go
  expect_ends_naming_the_cause(what, r, box, {1}, kNoSpace);
  ::unlink(ns->outside("/dev/shm/filler").c_str());
  auto left = entries(ns->outside("/dev/shm"));
  EXPECT_TRUE(left.empty()) << what << ": " << left.size() << " file(s) left in that /dev/shm";
}

// As nobody with RLIMIT_NPROC = 4, fanin --fan 8 cannot start its peers (nor their watchdog
// threads): the run must say so and undo what it made.
TEST_F(FaultResources, ProcessLimitTooLowForThePeers) {
  for (const char* backend : {"posix_shm", "sysv_msg"}) {
    const std::string what = std::string(backend) + " fanin --fan 8 as nobody, RLIMIT_NPROC = 4";
    Sandbox box("nproc");
    box.give_to(kNobody);
    Spawn as;
    as.prepare = as_user(kNobody, [] {
      rlimit rl{4, 4};
      return ::setrlimit(RLIMIT_NPROC, &rl) == 0;
    });
    Bench r(box,
            run_args(box, backend, backend == std::string("sysv_msg") ? "block" : "futex", "fanin",
                     0.05, {"--fan", "8"}),
            as);
    expect_ends_naming_the_cause(what, r, box, {1, 2}, {"RLIMIT_NPROC", "ulimit -u"});
  }
}

}  // namespace
}  // namespace ipcb::test::fault
