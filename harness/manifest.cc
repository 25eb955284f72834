// The cleanup manifest's records and `clean` (see manifest.h). The in-memory table is a fixed
// array of plain entries so the signal handlers (manifest_signals.cc) can walk it without
// allocating or locking.
#include "harness/manifest.h"

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

#include "harness/manifest_table.h"
#include "harness/sys.h"

namespace ipcb::manifest {

Entry g_entries[kMaxEntries];
std::atomic<pid_t> g_peers[kMaxPeers];
std::atomic<unsigned> g_seq{0};
char g_owner_lock[kMaxText];
std::atomic<pid_t> g_owner_pid{0};

void remove_raw(Kind kind, long key, const char* name) {
  switch (kind) {
    case Kind::kSysvShm: {
      int id = ::shmget(static_cast<key_t>(key), 0, 0);
      if (id >= 0) ::shmctl(id, IPC_RMID, nullptr);
      break;
    }
    case Kind::kPosixShm:
      ::shm_unlink(name);
      break;
    case Kind::kFile:
      ::unlink(name);
      break;
    case Kind::kSysvMsg: {
      int id = ::msgget(static_cast<key_t>(key), 0);
      if (id >= 0) ::msgctl(id, IPC_RMID, nullptr);
      break;
    }
    case Kind::kSysvSem: {
      int id = ::semget(static_cast<key_t>(key), 0, 0);
      if (id >= 0) ::semctl(id, 0, IPC_RMID);
      break;
    }
    case Kind::kPosixMq:
      ::mq_unlink(name);
      break;
  }
}

Status remove_raw_checked(Kind kind, long key, const char* name) {
  const std::string what =
      kind == Kind::kPosixMq ? std::string(name) : "key " + std::to_string(key);
  int id = -1;
  switch (kind) {
    case Kind::kSysvMsg:
      id = ::msgget(static_cast<key_t>(key), 0);
      if (id < 0) return errno == ENOENT ? ok_status() : errno_error("msgget", what);
      if (::msgctl(id, IPC_RMID, nullptr) != 0 && errno != EINVAL && errno != EIDRM) {
        return errno_error("msgctl(IPC_RMID)", what);
      }
      return ok_status();
    case Kind::kSysvSem:
      id = ::semget(static_cast<key_t>(key), 0, 0);
      if (id < 0) return errno == ENOENT ? ok_status() : errno_error("semget", what);
      if (::semctl(id, 0, IPC_RMID) != 0 && errno != EINVAL && errno != EIDRM) {
        return errno_error("semctl(IPC_RMID)", what);
      }
      return ok_status();
    case Kind::kPosixMq:
      if (::mq_unlink(name) != 0 && errno != ENOENT) return errno_error("mq_unlink", what);
      return ok_status();
    default:
      remove_raw(kind, key, name);
      return ok_status();
  }
}

void kill_peers_and_remove_all() {
  for (auto& p : g_peers) {
    pid_t peer = p.load();
    if (peer > 0) ::kill(peer, SIGKILL);
  }
  for (auto& e : g_entries) {
    if (!e.in_use.load()) continue;
    remove_raw(e.kind, e.key, e.name);
    ::unlink(e.record);
    e.in_use.store(false);
  }
  if (g_owner_pid.load() == ::getpid()) {
    g_owner_pid.store(0);
    ::unlink(g_owner_lock);
  }
}

namespace {

constexpr Kind kAllKinds[] = {Kind::kSysvShm, Kind::kPosixShm, Kind::kFile,
                              Kind::kSysvMsg, Kind::kSysvSem,  Kind::kPosixMq};

bool copy_text(char (&dst)[kMaxText], const std::string& src) {
  if (src.size() + 1 > kMaxText) return false;
  std::memcpy(dst, src.c_str(), src.size() + 1);
  return true;
}

bool is_sysv(Kind k) {
  return k == Kind::kSysvShm || k == Kind::kSysvMsg || k == Kind::kSysvSem;
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

// Whether `name` has the shape of an object of `kind` ipcbench makes (see sys::owned_name), so
// that a record, whoever wrote it, can never make clean remove anything else.
bool is_our_name(Kind kind, const std::string& name) {
  auto owned = [&](std::initializer_list<const char*> prefixes, const std::string& n) {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const char* p) { return sys::is_owned_name(n, p); });
  };
  switch (kind) {
    case Kind::kPosixShm:
      return owned({"/ipcbench-", "/ipcbench-probe-"}, name);
    case Kind::kPosixMq:
      return owned({"/ipcb-", "/ipcb-probe-"}, name);
    case Kind::kFile: {
      if (name.empty() || name[0] != '/' || name.find("/../") != std::string::npos) return false;
      std::string base = name.substr(name.rfind('/') + 1);
      for (const char* suffix : {".mmap", ".o2p.fifo", ".p2o.fifo"}) {
        std::string s = suffix;
        if (base.size() > s.size() && base.ends_with(s)) {
          return owned({"ipcbench-"}, base.substr(0, base.size() - s.size()));
        }
      }
      return false;
    }
    case Kind::kSysvShm:
    case Kind::kSysvMsg:
    case Kind::kSysvSem: {
      char* end = nullptr;
      long key = std::strtol(name.c_str(), &end, 10);
      return !name.empty() && *end == '\0' && key > 0 && key <= 0x7fffffff;
    }
  }
  return false;
}

// Records a leftover cannot be read as: a kind we know and a name of ours.
bool parse_record(const std::string& path, Leftover& l) {
  std::ifstream f(path);
  std::string kind;
  if (!(f >> kind >> l.name)) return false;
  auto known = std::find_if(std::begin(kAllKinds), std::end(kAllKinds),
                            [&](Kind k) { return kind == kind_name(k); });
  if (known == std::end(kAllKinds)) return false;
  l.kind = *known;
  return is_our_name(l.kind, l.name);
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

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kSysvShm:
      return "sysv_shm";
    case Kind::kPosixShm:
      return "posix_shm";
    case Kind::kFile:
      return "file";
    case Kind::kSysvMsg:
      return "sysv_msg";
    case Kind::kSysvSem:
      return "sysv_sem";
    case Kind::kPosixMq:
      return "posix_mq";
  }
  return "?";
}

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

Result<int> record(Kind kind, const std::string& name) {
  IPCB_TRY(std::string dir, directory());
  IPCB_TRY(std::string id, owner_id(dir));
  std::string path = dir + "/" + id + "-" + std::to_string(g_seq.fetch_add(1));
  for (int i = 0; i < kMaxEntries; ++i) {
    Entry& e = g_entries[i];
    bool expected = false;
    if (!e.in_use.compare_exchange_strong(expected, true)) continue;
    // The entry is ours but not yet complete; the handler may see it half-filled, so fill the
    // fields the handler uses before writing the record file.
    e.kind = kind;
    e.key = is_sysv(kind) ? std::strtol(name.c_str(), nullptr, 10) : 0;
    if (!copy_text(e.name, name) || !copy_text(e.record, path)) {
      e.in_use.store(false);
      return plain_error("manifest", "object name too long: " + name);
    }
    std::string text = std::string(kind_name(kind)) + " " + name + "\n";
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

Status remove_object(Kind kind, const std::string& name) {
  switch (kind) {
    case Kind::kSysvShm: {
      key_t key = static_cast<key_t>(std::strtol(name.c_str(), nullptr, 10));
      int id = ::shmget(key, 0, 0);
      if (id < 0) return ok_status();  // already gone
      return sys::shm_rmid(id);
    }
    case Kind::kPosixShm:
      return sys::shm_remove(name);
    case Kind::kFile:
      return sys::unlink_path(name);
    case Kind::kSysvMsg:
    case Kind::kSysvSem:
    case Kind::kPosixMq:
      return remove_raw_checked(kind, std::strtol(name.c_str(), nullptr, 10), name.c_str());
  }
  return ok_status();
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
    if (!parse_record(l.record_path, l)) l.name.clear();  // reported by clean
    out.push_back(std::move(l));
  }
  ::closedir(d);
  return out;
}

Result<CleanReport> clean(bool dry_run) {
  IPCB_TRY(auto all, scan());
  IPCB_TRY(std::string dir, directory());
  CleanReport r;
  for (auto& l : all) {
    if (l.owner_alive) continue;
    if (l.name.empty()) {
      r.unreadable.push_back(l.record_path);
      if (!dry_run) ::unlink(l.record_path.c_str());
      continue;
    }
    if (!dry_run) {
      Status st = remove_object(l.kind, l.name);
      if (st) st = sys::unlink_path(l.record_path);
      if (!st) {
        r.failed.emplace_back(l, st.error());
        continue;
      }
    }
    r.removed.push_back(l);
  }
  if (!dry_run) remove_dead_owner_files(dir);
  return r;
}

}  // namespace ipcb::manifest
