// The cleanup manifest's records and `clean` (see manifest.h). The in-memory table is a fixed
// array of plain entries so the signal handlers (manifest_signals.cc) can walk it without
// allocating or locking.
#include "harness/sys/manifest.h"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "harness/sys/manifest_table.h"
#include "harness/sys/sys.h"

namespace ipcb::manifest {

Entry g_entries[kMaxEntries];
std::atomic<pid_t> g_peers[kMaxPeers];
std::atomic<unsigned> g_seq{0};
char g_owner_lock[kMaxText];
std::atomic<pid_t> g_owner_pid{0};

namespace {

bool copy_text(char (&dst)[kMaxText], const std::string& src) {
  if (src.size() + 1 > kMaxText) return false;
  std::memcpy(dst, src.c_str(), src.size() + 1);
  return true;
}

// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), 0 if gone.
// Only for records of older versions, which had no owner lock.
unsigned long long start_time(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

// This process's owner identity: "PID-tTOKEN", and the flock'd owner file that proves it alive.
// A forked child (getpid() changed) makes its own.
struct Owner {
  std::mutex mu;
  pid_t pid = 0;
  std::string id;
  int lock_fd = -1;
};
Owner& owner() {
  static Owner o;  // part of the manifest's state
  return o;
}

// Blocks every catchable signal while alive: the owner file and the handlers' copy of its path
// change together, so a handler never leaves the file behind nor removes another's.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~SignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

Result<std::string> owner_id(const std::string& dir) {
  Owner& o = owner();
  std::lock_guard<std::mutex> guard(o.mu);
  pid_t self = ::getpid();
  if (o.pid == self && o.lock_fd >= 0) return o.id;
  SignalsBlocked blocked;
  if (o.lock_fd >= 0) ::close(o.lock_fd);  // the parent's, inherited by fork
  o.lock_fd = -1;
  std::string id = std::to_string(self) + "-t" + sys::random_hex(8);
  std::string path = dir + "/" + id + ".lock";
  IPCB_TRY(sys::Fd fd, sys::open_file(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return errno_error("flock", path);
  o.pid = self;
  o.id = id;
  o.lock_fd = fd.release();
  g_owner_pid.store(0);
  if (copy_text(g_owner_lock, path)) g_owner_pid.store(self);
  return id;
}

// Whether the owner of a record (its file name) still runs: for "PID-tTOKEN-SEQ" records, its
// owner file is still locked; for older "PID-START-SEQ" ones, the pid has that start time.
bool owner_alive(const std::string& dir, const std::string& file, pid_t pid) {
  auto t = file.find("-t");
  if (t != std::string::npos) {
    auto seq = file.rfind('-');
    std::string lock = dir + "/" + file.substr(0, seq) + ".lock";
    int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;  // the owner removed it (it only does so when done) or clean did
    bool alive = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);  // drops our lock, if we took it
    return alive;
  }
  unsigned long long started = 0;
  unsigned seq = 0;
  int p = 0;
  if (std::sscanf(file.c_str(), "%d-%llu-%u", &p, &started, &seq) != 3) return true;
  return started != 0 && start_time(pid) == started;
}

// Owner files whose owner is gone (no lock held) and whose records are all removed.
void remove_dead_owner_files(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> files;
  while (dirent* ent = ::readdir(d)) files.emplace_back(ent->d_name);
  ::closedir(d);
  for (const auto& f : files) {
    if (!f.ends_with(".lock")) continue;
    std::string prefix = f.substr(0, f.size() - 5) + "-";
    bool has_records = std::any_of(files.begin(), files.end(), [&](const std::string& r) {
      return r.rfind(prefix, 0) == 0 && !r.ends_with(".lock");
    });
    if (has_records) continue;
    std::string path = dir + "/" + f;
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(path.c_str());
    ::close(fd);
  }
}

}  // namespace

namespace {

// Makes `dir` (mode 0700) unless it exists; fails unless it is a real directory of ours that
// no one else can enter.
Status own_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("mkdir", dir);
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return errno_error("lstat", dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    return plain_error("manifest directory " + dir,
                       "must be a directory owned by this user with mode 0700; remove it or set "
                       "IPCBENCH_MANIFEST_DIR");
  }
  return ok_status();
}

// A folder in /tmp (world-writable, sticky) that someone else made first, or a link: when we
// may, move it out of the way (renamed, never followed or deleted) so it cannot deny us service.
void unsquat(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode) && st.st_uid == ::geteuid()) return;
  std::string aside = dir + ".foreign-" + sys::random_hex(4);
  if (::rename(dir.c_str(), aside.c_str()) == 0) {
    std::fprintf(stderr, "ipcbench: %s belonged to uid %u; moved it to %s\n", dir.c_str(),
                 static_cast<unsigned>(st.st_uid), aside.c_str());
  }
}

}  // namespace

Result<std::string> directory() {
  if (const char* d = std::getenv("IPCBENCH_MANIFEST_DIR"); d && *d) {
    IPCB_TRY_STATUS(own_directory(d));
    return std::string(d);
  }
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) {
    std::string dir = std::string(x) + "/ipcbench";
    IPCB_TRY_STATUS(own_directory(dir));
    return dir;
  }
  // Root's /run is writable by root alone: nobody can make the folder first.
  struct stat run;
  if (::geteuid() == 0 && ::lstat("/run", &run) == 0 && S_ISDIR(run.st_mode) && run.st_uid == 0 &&
      (run.st_mode & 022) == 0 && own_directory("/run/ipcbench")) {
    return std::string("/run/ipcbench");
  }
  std::string dir = "/tmp/ipcbench-" + std::to_string(::geteuid());
  if (!own_directory(dir)) {
    unsquat(dir);  // works for root, or when /tmp is not sticky
    IPCB_TRY_STATUS(own_directory(dir));
  }
  return dir;
}

Result<int> record(Kind kind, const std::string& name, const std::string& extra) {
  IPCB_TRY(std::string dir, directory());
  IPCB_TRY(std::string id, owner_id(dir));
  const unsigned seq = g_seq.fetch_add(1);
  std::string path = dir + "/" + id + "-" + std::to_string(seq);
  // A handler never sees an entry half-filled (a sysctl's value must be whole to be written).
  SignalsBlocked blocked;
  for (int i = 0; i < kMaxEntries; ++i) {
    Entry& e = g_entries[i];
    bool expected = false;
    if (!e.in_use.compare_exchange_strong(expected, true)) continue;
    e.kind = kind;
    e.seq = seq;
    e.key = keyed(kind) ? std::strtol(name.c_str(), nullptr, 10) : 0;
    const std::string value = kind == Kind::kSysctl ? extra.substr(extra.find(' ') + 1) : "";
    if (!copy_text(e.name, name) || !copy_text(e.record, path) ||
        !copy_text(e.value, value + (value.empty() ? "" : "\n"))) {
      e.in_use.store(false);
      return plain_error("manifest", "object name too long: " + name);
    }
    std::string text =
        std::string(kind_name(kind)) + " " + name + (extra.empty() ? "" : " " + extra) + "\n";
    auto fd = sys::open_file(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (!fd) {
      e.in_use.store(false);
      return fd.error();
    }
    auto st = sys::write_full(fd->get(), std::as_bytes(std::span(text)), path);
    if (!st) {
      e.in_use.store(false);
      ::unlink(path.c_str());
      return st.error();
    }
    if (const char* j = std::getenv("IPCBENCH_JOURNAL"); j && *j) {
      if (auto journal = sys::open_file(j, O_WRONLY | O_APPEND | O_CLOEXEC)) {
        (void)sys::write_full(journal->get(), std::as_bytes(std::span(text)), j);
      }
    }
    return i;
  }
  return plain_error("manifest",
                     "more than " + std::to_string(kMaxEntries) + " live objects in one process");
}

void release(int handle) {
  if (handle < 0 || handle >= kMaxEntries) return;
  Entry& e = g_entries[handle];
  if (!e.in_use.load()) return;
  ::unlink(e.record);
  e.in_use.store(false);
  // With nothing recorded, the owner file has nothing to vouch for: remove it (the next record
  // makes a new one), so finished runs leave no files behind.
  Owner& o = owner();
  std::lock_guard<std::mutex> guard(o.mu);
  if (o.lock_fd < 0 || o.pid != ::getpid()) return;
  for (const auto& other : g_entries) {
    if (other.in_use.load()) return;
  }
  auto dir = directory();
  SignalsBlocked blocked;
  g_owner_pid.store(0);
  if (dir) ::unlink((*dir + "/" + o.id + ".lock").c_str());
  ::close(o.lock_fd);
  o.lock_fd = -1;
}

void add_peer_pid(pid_t pid) {
  for (auto& p : g_peers) {
    pid_t expected = 0;
    if (p.compare_exchange_strong(expected, pid)) return;
  }
}

void forget_peer_pid(pid_t pid) {
  for (auto& p : g_peers) {
    pid_t expected = pid;
    if (p.compare_exchange_strong(expected, 0)) return;
  }
}

Result<std::vector<Leftover>> scan() {
  IPCB_TRY(std::string dir, directory());
  std::vector<Leftover> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno_error("opendir", dir);
  while (dirent* ent = ::readdir(d)) {
    std::string file = ent->d_name;
    if (file == "." || file == ".." || file.ends_with(".lock")) continue;
    Leftover l;
    l.record_path = dir + "/" + file;
    int pid = 0;
    if (std::sscanf(file.c_str(), "%d-", &pid) != 1) continue;
    l.owner = pid;
    l.owner_alive = owner_alive(dir, file, pid);
    l.kind = Kind::kFile;
    l.seq =
        static_cast<unsigned>(std::strtoul(file.substr(file.rfind('-') + 1).c_str(), nullptr, 10));
    if (!parse_record(l.record_path, l)) l.name.clear();  // reported by clean
    out.push_back(std::move(l));
  }
  ::closedir(d);
  return out;
}

Result<CleanReport> clean(bool dry_run) {
  IPCB_TRY(auto all, scan());
  IPCB_TRY(std::string dir, directory());
  // Objects first; then sysctls, newest record first, so the oldest saved value (the one from
  // before any test changed it) is the one left.
  std::stable_sort(all.begin(), all.end(), [](const Leftover& a, const Leftover& b) {
    bool sa = a.kind == Kind::kSysctl, sb = b.kind == Kind::kSysctl;
    if (sa != sb) return sb;
    return sa && (a.owner != b.owner ? a.owner < b.owner : a.seq > b.seq);
  });
  CleanReport r;
  for (auto& l : all) {
    if (l.owner_alive) continue;
    if (l.name.empty()) {
      r.unreadable.push_back(l.record_path);
      if (!dry_run) ::unlink(l.record_path.c_str());
      continue;
    }
    std::string skipped;
    (void)undo(l, &skipped, /*dry_run=*/true);
    if (!dry_run) {
      Status st = undo(l, nullptr);
      if (st) st = sys::unlink_path(l.record_path);
      if (!st) {
        r.failed.emplace_back(l, st.error());
        continue;
      }
    }
    if (skipped.empty()) {
      r.removed.push_back(l);
    } else {
      r.dropped.emplace_back(l, skipped);
    }
  }
  if (!dry_run) remove_dead_owner_files(dir);
  return r;
}

}  // namespace ipcb::manifest
