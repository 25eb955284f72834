// Atomicity of pipe and FIFO writes (pipe(7) "PIPE_BUF"): records of up to PIPE_BUF bytes from
// concurrent writers never interleave, blocking or not; larger records sent as PIPE_BUF pieces
// arrive intact; PIPE_BUF itself; and a single write above PIPE_BUF that another write splits.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

constexpr int kWriters = 5;

// Writes all of `data` to `fd` in one write(2); if `fd` is non-blocking, waits for room with
// poll(2) after EAGAIN and tries again. 0, or 1 after a partial write, 2 after another error.
int write_whole(int fd, const char* data, size_t n) {
  for (;;) {
    ssize_t w = ::write(fd, data, n);
    if (w == static_cast<ssize_t>(n)) return 0;
    if (w >= 0) return 1;
    if (errno != EAGAIN) return 2;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 1000);
  }
}

// Reads `fd` to end of file.
std::string read_all(int fd) {
  std::string all;
  char buf[8192];
  for (long n; (n = ::read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  return all;
}

// kWriters children each get a write end from `open_w` and call `send(fd, writer)`; once all have
// one, the parent closes its own write end `w` and reads `r` to end of file, which it returns.
std::string from_concurrent_writers(Fd& r, Fd& w, const std::function<int()>& open_w,
                                    const std::function<int(int fd, int writer)>& send) {
  std::vector<std::unique_ptr<AsyncChild>> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(std::make_unique<AsyncChild>([&, i](const AsyncChild::Ready& ready) {
      r.reset();
      int fd = open_w();
      if (fd < 0) return child_fail(3, "open");
      ready();
      return send(fd, i);
    }));
  }
  for (auto& c : writers) EXPECT_TRUE(c->wait_ready()) << "a writer did not start";
  w.reset();
  std::string all = read_all(r.get());
  for (auto& c : writers) {
    ChildResult res = c->wait();
    EXPECT_CHILD_OK(res) << " (1: a partial write, 2: write failed)";
  }
  return all;
}

// pipe(7): writes of at most PIPE_BUF bytes are atomic: 5 writers of 4090-byte records, into a
// pipe and into a FIFO, blocking and non-blocking (which then writes all or fails EAGAIN, never
// part): the reader never sees a partial or interleaved record, and gets every record.
TEST(Pipe, WritesUpToPipeBufAreAtomicUnderConcurrentWriters) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I25");
  constexpr int kRecords = 24;
  constexpr size_t kSize = 4090;
  auto send = [](int fd, int writer) {
    std::string rec(kSize, static_cast<char>('A' + writer));
    for (int k = 0; k < kRecords; ++k) {
      if (int rc = write_whole(fd, rec.data(), rec.size()); rc != 0) return rc;
    }
    return 0;
  };
  for (bool fifo : {false, true}) {
    for (bool nonblock : {false, true}) {
      SCOPED_TRACE(std::string(fifo ? "FIFO" : "pipe") + (nonblock ? ", O_NONBLOCK" : ""));
      TempDir dir;
      std::string path = dir.file("fifo");
      Fd r, w;
      if (fifo) {
        ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
        r.reset(::open(path.c_str(), O_RDONLY | O_NONBLOCK));
        w.reset(::open(path.c_str(), O_WRONLY));
      } else {
        int fds[2];
        ASSERT_EQ(::pipe2(fds, nonblock ? O_NONBLOCK : 0), 0);
        r.reset(fds[0]);
        w.reset(fds[1]);
      }
      ASSERT_TRUE(r.get() >= 0 && w.get() >= 0) << strerror(errno);
      ASSERT_EQ(::fcntl(r.get(), F_SETFL, 0), 0);  // the reader blocks (its own description)
      int inherited = w.get();
      auto open_w = [&, inherited] {
        return fifo ? ::open(path.c_str(), O_WRONLY | (nonblock ? O_NONBLOCK : 0)) : inherited;
      };
      std::string all = from_concurrent_writers(r, w, open_w, send);
      ASSERT_EQ(all.size(), kWriters * kRecords * kSize);
      std::map<char, int> per_writer;
      for (size_t off = 0; off < all.size(); off += kSize) {
        ASSERT_EQ(all.compare(off, kSize, std::string(kSize, all[off])), 0)
            << "record at " << off << " is partial or interleaved";
        ++per_writer[all[off]];
      }
      for (int i = 0; i < kWriters; ++i) EXPECT_EQ(per_writer['A' + i], kRecords);
    }
  }
}

// A piece of a record larger than PIPE_BUF, sent with one write(2) of at most PIPE_BUF bytes.
struct PieceHeader {
  uint32_t writer, record, offset, length;
};

// pipe(7): only writes of at most PIPE_BUF bytes are atomic, so 5 writers sending 5000-byte
// records split each into pieces of at most PIPE_BUF bytes (header included): every piece
// arrives intact and whole, and each writer's pieces arrive in order and rebuild every record.
TEST(Pipe, RecordsAbovePipeBufSentAsPipeBufPiecesArriveIntact) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I26");
  constexpr uint32_t kRecords = 12, kRecordSize = 5000;
  constexpr uint32_t kMaxPayload = PIPE_BUF - sizeof(PieceHeader);
  auto byte = [](uint32_t w, uint32_t rec, uint32_t off) {
    return static_cast<char>((w * 131 + rec * 17 + off) % 251);
  };
  auto send = [&](int fd, int writer) {
    std::vector<char> piece(PIPE_BUF);
    for (uint32_t rec = 0; rec < kRecords; ++rec) {
      for (uint32_t off = 0; off < kRecordSize; off += kMaxPayload) {
        PieceHeader h{static_cast<uint32_t>(writer), rec, off,
                      std::min(kMaxPayload, kRecordSize - off)};
        std::memcpy(piece.data(), &h, sizeof h);
        for (uint32_t i = 0; i < h.length; ++i) piece[sizeof h + i] = byte(h.writer, rec, off + i);
        if (int rc = write_whole(fd, piece.data(), sizeof h + h.length); rc != 0) return rc;
      }
    }
    return 0;
  };
  PipeFds p;
  ASSERT_TRUE(p.ok);
  int inherited = p.w.get();
  std::string all = from_concurrent_writers(
      p.r, p.w, [inherited] { return inherited; }, send);
  std::map<uint32_t, uint64_t> next;  // writer -> record * kRecordSize + offset expected next
  size_t at = 0;
  while (at + sizeof(PieceHeader) <= all.size()) {
    PieceHeader h;
    std::memcpy(&h, all.data() + at, sizeof h);
    ASSERT_TRUE(h.writer < kWriters && h.length <= kMaxPayload &&
                at + sizeof h + h.length <= all.size())
        << "broken piece header at " << at;
    ASSERT_EQ(uint64_t{h.record} * kRecordSize + h.offset, next[h.writer])
        << "out of order at " << at;
    for (uint32_t i = 0; i < h.length; ++i) {
      ASSERT_EQ(all[at + sizeof h + i], byte(h.writer, h.record, h.offset + i))
          << "piece at " << at;
    }
    next[h.writer] += h.length;
    at += sizeof h + h.length;
  }
  EXPECT_EQ(at, all.size()) << "trailing bytes";
  for (uint32_t w = 0; w < kWriters; ++w) EXPECT_EQ(next[w], uint64_t{kRecords} * kRecordSize);
}

// In a child pinned to one CPU: writer A's single write(2) of 128 KiB fills the empty 64 KiB
// pipe and sleeps; writer B, SCHED_FIFO on the same CPU, waits in poll(2) for room. Reading one
// page wakes both; B runs first and writes "B", so B's byte lands inside A's record. Returns 0 if
// it did (at offset 64 KiB) while A's write still returned 128 KiB, kSkipCode without the
// privilege for SCHED_FIFO.
int interleave_one_large_write() {
  cpu_set_t cpus;
  if (::sched_getaffinity(0, sizeof cpus, &cpus) != 0) return kSetupFailed;
  int cpu = 0;
  while (!CPU_ISSET(cpu, &cpus)) ++cpu;
  CPU_ZERO(&cpus);
  CPU_SET(cpu, &cpus);
  if (::sched_setaffinity(0, sizeof cpus, &cpus) != 0) return kSetupFailed;
  sched_param rt{}, normal{};
  rt.sched_priority = 1;
  if (::sched_setscheduler(0, SCHED_FIFO, &rt) != 0) return kSkipCode;  // B will need it
  if (::sched_setscheduler(0, SCHED_OTHER, &normal) != 0) return kSetupFailed;
  PipeFds p;
  if (!p.ok || ::fcntl(p.w.get(), F_GETPIPE_SZ) != 65536) return kSetupFailed;
  constexpr size_t kBig = 128 * 1024;
  AsyncChild a([&p](const AsyncChild::Ready& ready) {
    std::string rec(kBig, 'A');
    ready();
    return ::write(p.w.get(), rec.data(), rec.size()) == static_cast<ssize_t>(kBig) ? 0 : 1;
  });
  if (!a.wait_blocked()) return 2;
  AsyncChild b([&p](const AsyncChild::Ready& ready) {
    sched_param sp{};
    sp.sched_priority = 1;
    if (::sched_setscheduler(0, SCHED_FIFO, &sp) != 0) return 3;
    pollfd pf{p.w.get(), POLLOUT, 0};
    ready();
    if (::poll(&pf, 1, 5000) != 1) return 4;
    return ::write(p.w.get(), "B", 1) == 1 ? 0 : 5;
  });
  if (!b.wait_blocked()) return 9;
  p.w.reset();
  std::string all = read_all(p.r.get());
  ChildResult ra = a.wait(), rb = b.wait();
  if (!ra.exited || ra.code != 0) return 6;  // A's write was split into two calls
  if (!rb.exited || rb.code != 0) return 7;
  return all.size() == kBig + 1 && all.find('B') == 65536 ? 0 : 8;
}

// pipe(7), fpathconf(3): PIPE_BUF is 4096 on Linux, and _PC_PIPE_BUF of a pipe says so. Writes
// of more than PIPE_BUF bytes are not atomic: another process's write may land inside one, which
// is shown by ordering two writers (see interleave_one_large_write).
TEST(Pipe, PipeBufIs4096AndLargerWritesMayInterleave) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("U13");
  EXPECT_EQ(PIPE_BUF, 4096);
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(::fpathconf(p.r.get(), _PC_PIPE_BUF), 4096);
  EXPECT_EQ(::fpathconf(p.w.get(), _PC_PIPE_BUF), 4096);
  auto r = run_in_child(interleave_one_large_write);
  SKIP_IF_CHILD_SKIPPED(r, "needs SCHED_FIFO (CAP_SYS_NICE or RLIMIT_RTPRIO) to order the writers");
  EXPECT_CHILD_OK(r) << " (2, 9: a writer did not block; 6: A's write was split; 8: B's byte did "
                        "not land inside A's write)";
}

}  // namespace
}  // namespace ipcb::conform
