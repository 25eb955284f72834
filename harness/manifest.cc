// Implementation of the cleanup manifest (see manifest.h). The in-memory table is a fixed array
// of plain entries so the signal handler can walk it without allocating or locking.
#include "harness/manifest.h"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "harness/sys.h"

namespace ipcb::manifest {
namespace {

constexpr int kMaxEntries = 64;
constexpr size_t kMaxText = 256;

struct Entry {
  std::atomic<bool> in_use{false};
  Kind kind = Kind::kFile;
  long key = 0;                // SysV key, for kSysvShm
  char name[kMaxText] = {};    // object name or path
  char record[kMaxText] = {};  // the record file to unlink
};

// The manifest: process-wide by necessity (the signal handler must reach it).
Entry g_entries[kMaxEntries];
std::atomic<pid_t> g_peers[kMaxPeers];
std::atomic<unsigned> g_seq{0};

bool copy_text(char (&dst)[kMaxText], const std::string& src) {
  if (src.size() + 1 > kMaxText) return false;
  std::memcpy(dst, src.c_str(), src.size() + 1);
  return true;
}

// Async-signal-safe removal of one object (only syscalls, no allocation).
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

bool is_sysv(Kind k) {
  return k == Kind::kSysvShm || k == Kind::kSysvMsg || k == Kind::kSysvSem;
}

constexpr Kind kAllKinds[] = {Kind::kSysvShm, Kind::kPosixShm, Kind::kFile,
                              Kind::kSysvMsg, Kind::kSysvSem,  Kind::kPosixMq};

// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), 0 if gone.
unsigned long long start_time(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  // After "pid (comm) " come fields 3..; start time is field 22, i.e. the 20th here.
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

void on_fatal_signal(int sig) {
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
  ::signal(sig, SIG_DFL);
  ::raise(sig);
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

Result<std::string> directory() {
  std::string dir;
  if (const char* d = std::getenv("IPCBENCH_MANIFEST_DIR"); d && *d) {
    dir = d;
  } else if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) {
    dir = std::string(x) + "/ipcbench";
  } else {
    dir = "/tmp/ipcbench-" + std::to_string(::getuid());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("mkdir", dir);
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return errno_error("lstat", dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077) != 0) {
    return plain_error("manifest directory " + dir,
                       "must be a directory owned by this user with mode 0700; remove it or set "
                       "IPCBENCH_MANIFEST_DIR");
  }
  return dir;
}

Result<int> record(Kind kind, const std::string& name) {
  IPCB_TRY(std::string dir, directory());
  pid_t self = ::getpid();
  std::string path = dir + "/" + std::to_string(self) + "-" + std::to_string(start_time(self)) +
                     "-" + std::to_string(g_seq.fetch_add(1));
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
    auto fd = sys::open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
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
  return plain_error("manifest", "more than 64 live objects in one process");
}

void release(int handle) {
  if (handle < 0 || handle >= kMaxEntries) return;
  Entry& e = g_entries[handle];
  if (!e.in_use.load()) return;
  ::unlink(e.record);
  e.in_use.store(false);
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

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&sa.sa_mask, s);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(s, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
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
      // No error to report beyond "already gone": the raw path is the whole removal.
      remove_raw(kind, std::strtol(name.c_str(), nullptr, 10), name.c_str());
      return ok_status();
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
    if (file == "." || file == "..") continue;
    Leftover l;
    l.record_path = dir + "/" + file;
    unsigned long long started = 0;
    unsigned seq = 0;
    int pid = 0;
    if (std::sscanf(file.c_str(), "%d-%llu-%u", &pid, &started, &seq) != 3) continue;
    l.owner = pid;
    l.owner_alive = start_time(pid) == started && started != 0;
    std::ifstream f(l.record_path);
    std::string kind;
    if (!(f >> kind >> l.name)) continue;
    auto known = std::find_if(std::begin(kAllKinds), std::end(kAllKinds),
                              [&](Kind k) { return kind == kind_name(k); });
    if (known == std::end(kAllKinds)) continue;
    l.kind = *known;
    out.push_back(std::move(l));
  }
  ::closedir(d);
  return out;
}

Result<std::vector<Leftover>> clean(bool dry_run) {
  IPCB_TRY(auto all, scan());
  std::vector<Leftover> gone;
  for (auto& l : all) {
    if (l.owner_alive) continue;
    if (!dry_run) {
      IPCB_TRY_STATUS(remove_object(l.kind, l.name));
      IPCB_TRY_STATUS(sys::unlink_path(l.record_path));
    }
    gone.push_back(l);
  }
  return gone;
}

}  // namespace ipcb::manifest
