// What the manifest knows per kind of object (see manifest.h): its name in records, which names
// are ours (so a record can never make clean remove anything else), and how it is removed, both
// async-signal-safely (the handlers) and with errors reported (clean). Sysctl records restore a
// saved value instead.
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "harness/sys/enum_names.h"
#include "harness/sys/manifest_table.h"
#include "harness/sys/sys.h"

namespace ipcb::manifest {
namespace {

// In Kind's order (manifest.h): the names records and `ipcbench clean` show.
constexpr const char* kKindNames[] = {"sysv_shm", "posix_shm",  "file",     "sysv_msg", "sysv_sem",
                                      "posix_mq", "posix_name", "sysv_key", "dir",      "sysctl"};
static_assert(std::size(kKindNames) == static_cast<size_t>(Kind::kSysctl) + 1);

void rmid_key(Kind kind, key_t key) {
  int id = -1;
  if (kind == Kind::kSysvShm && (id = ::shmget(key, 0, 0)) >= 0) ::shmctl(id, IPC_RMID, nullptr);
  if (kind == Kind::kSysvMsg && (id = ::msgget(key, 0)) >= 0) ::msgctl(id, IPC_RMID, nullptr);
  if (kind == Kind::kSysvSem && (id = ::semget(key, 0, 0)) >= 0) ::semctl(id, 0, IPC_RMID);
}

// unlink("/dev/shm/sem.NAME") for the POSIX semaphore "/NAME", without allocating.
void sem_unlink_raw(const char* name) {
  char path[kMaxText + 16] = "/dev/shm/sem.";
  size_t at = std::strlen(path), n = std::strlen(name + 1);
  if (name[0] != '/' || at + n + 1 > sizeof path) return;
  std::memcpy(path + at, name + 1, n + 1);
  ::unlink(path);
}

// The files and empty folders directly in `dir`, then `dir`: getdents64 and unlinkat only.
void remove_dir_raw(const char* dir) {
  int fd = ::open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  alignas(8) char buf[4096];
  for (long n; (n = ::syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0;) {
    for (long off = 0; off < n;) {
      struct Dirent64 {
        unsigned long long ino;
        long long off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      };
      auto* d = reinterpret_cast<Dirent64*>(buf + off);
      off += d->reclen;
      if (std::strcmp(d->name, ".") == 0 || std::strcmp(d->name, "..") == 0) continue;
      if (::unlinkat(fd, d->name, 0) != 0) ::unlinkat(fd, d->name, AT_REMOVEDIR);
    }
  }
  ::close(fd);
  ::rmdir(dir);
}

bool is_hex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The sysctls a test may change and clean may restore: kernel, fs and vm limits.
bool is_our_sysctl(const std::string& path) {
  if (path.find("..") != std::string::npos) return false;
  for (const char* p : {"/proc/sys/kernel/", "/proc/sys/fs/", "/proc/sys/vm/"}) {
    if (path.rfind(p, 0) == 0 && path.size() > std::strlen(p)) return true;
  }
  return false;
}

// "NS VALUE": NS is "-" or "ipc:[DIGITS]"; VALUE is numbers separated by blanks.
bool is_sysctl_extra(const std::string& extra) {
  auto space = extra.find(' ');
  if (space == std::string::npos) return false;
  std::string ns = extra.substr(0, space), value = extra.substr(space + 1);
  bool ns_ok = ns == "-" || (ns.rfind("ipc:[", 0) == 0 && ns.back() == ']');
  return ns_ok && !value.empty() &&
         value.find_first_not_of("0123456789-\t ") == std::string::npos &&
         value.find_first_of("0123456789") != std::string::npos;
}

// Whether `name` has the shape of an object of `kind` ipcbench makes (see sys::owned_name).
bool is_our_name(Kind kind, const std::string& name, const std::string& extra) {
  auto owned = [&](std::initializer_list<const char*> prefixes, const std::string& n) {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const char* p) { return sys::is_owned_name(n, p); });
  };
  const std::string base = name.substr(name.rfind('/') + 1);
  switch (kind) {
    case Kind::kPosixShm:
      return owned({"/ipcbench-", "/ipcbench-probe-"}, name);
    case Kind::kPosixMq:
      return owned({"/ipcb-", "/ipcb-probe-"}, name);
    case Kind::kPosixName:  // conform.h's unique_name(): "/ipcb-conf-" and 16 hex digits
      return name.rfind("/ipcb-conf-", 0) == 0 && name.size() <= 40 && is_hex(name.substr(11));
    case Kind::kDir:  // conform.h's TempDir: mkdtemp of ".../ipcb-conf-XXXXXX"
      return name.size() > 1 && name[0] == '/' && name.find("/../") == std::string::npos &&
             name.find("/./") == std::string::npos && base.rfind("ipcb-conf-", 0) == 0 &&
             base.size() == 16 && base.find_first_of("/.", 0) == std::string::npos;
    case Kind::kSysctl:
      return is_our_sysctl(name) && is_sysctl_extra(extra);
    case Kind::kFile: {
      if (name.empty() || name[0] != '/' || name.find("/../") != std::string::npos) return false;
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
    case Kind::kSysvSem:
    case Kind::kSysvKey: {
      char* end = nullptr;
      long key = std::strtol(name.c_str(), &end, 10);
      return !name.empty() && *end == '\0' && key > 0 && key <= 0x7fffffff;
    }
  }
  return false;
}

std::string own_ipc_namespace() {
  std::error_code ec;
  auto link = std::filesystem::read_symlink("/proc/self/ns/ipc", ec);
  return ec ? std::string() : link.string();
}

}  // namespace

bool keyed(Kind k) {
  return k == Kind::kSysvShm || k == Kind::kSysvMsg || k == Kind::kSysvSem || k == Kind::kSysvKey;
}

const char* kind_name(Kind k) {
  return enum_name(k, kKindNames);
}

void remove_raw(Kind kind, long key, const char* name) {
  switch (kind) {
    case Kind::kSysvShm:
    case Kind::kSysvMsg:
    case Kind::kSysvSem:
      rmid_key(kind, static_cast<key_t>(key));
      break;
    case Kind::kSysvKey:
      for (Kind k : {Kind::kSysvShm, Kind::kSysvMsg, Kind::kSysvSem})
        rmid_key(k, static_cast<key_t>(key));
      break;
    case Kind::kPosixShm:
      ::shm_unlink(name);
      break;
    case Kind::kPosixMq:
      ::mq_unlink(name);
      break;
    case Kind::kPosixName:
      ::shm_unlink(name);
      ::mq_unlink(name);
      sem_unlink_raw(name);
      break;
    case Kind::kFile:
      ::unlink(name);
      break;
    case Kind::kDir:
      remove_dir_raw(name);
      break;
    case Kind::kSysctl:
      break;
  }
}

bool restore_raw(const char* path, const char* value) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t n = std::strlen(value);
  bool ok = ::write(fd, value, n) == static_cast<ssize_t>(n);
  ::close(fd);
  return ok;
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
    if (!e.in_use.load() || e.kind == Kind::kSysctl) continue;
    remove_raw(e.kind, e.key, e.name);
    ::unlink(e.record);
    e.in_use.store(false);
  }
  // Sysctls newest record first, so the oldest saved value (the original) is written last.
  for (;;) {
    Entry* newest = nullptr;
    for (auto& e : g_entries) {
      if (e.in_use.load() && e.kind == Kind::kSysctl && (!newest || e.seq > newest->seq))
        newest = &e;
    }
    if (newest == nullptr) break;
    restore_raw(newest->name, newest->value);
    ::unlink(newest->record);
    newest->in_use.store(false);
  }
  if (g_owner_pid.load() == ::getpid()) {
    g_owner_pid.store(0);
    ::unlink(g_owner_lock);
  }
}

bool parse_record(const std::string& path, Leftover& l) {
  std::ifstream f(path);
  std::string line;
  if (!std::getline(f, line)) return false;
  std::istringstream in(line);
  std::string kind;
  if (!(in >> kind >> l.name)) return false;
  std::getline(in >> std::ws, l.extra);
  auto known = enum_named<Kind>(kind, kKindNames);
  if (!known) return false;
  l.kind = *known;
  return is_our_name(l.kind, l.name, l.extra);
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
    case Kind::kDir: {
      std::error_code ec;
      std::filesystem::remove_all(name, ec);  // never follows links
      return ec ? plain_error("remove " + name, ec.message()) : ok_status();
    }
    case Kind::kSysvKey:
      for (Kind k : {Kind::kSysvShm, Kind::kSysvMsg, Kind::kSysvSem}) {
        IPCB_TRY_STATUS(remove_object(k, name));
      }
      return ok_status();
    case Kind::kPosixName:
      for (Kind k : {Kind::kPosixShm, Kind::kPosixMq}) IPCB_TRY_STATUS(remove_object(k, name));
      if (::unlink(("/dev/shm/sem." + name.substr(1)).c_str()) != 0 && errno != ENOENT)
        return errno_error("sem_unlink", name);
      return ok_status();
    case Kind::kSysvMsg:
    case Kind::kSysvSem:
    case Kind::kPosixMq:
      return remove_raw_checked(kind, std::strtol(name.c_str(), nullptr, 10), name.c_str());
    case Kind::kSysctl:
      return plain_error("manifest", "a sysctl record is undone, not removed");
  }
  return ok_status();
}

Status undo(const Leftover& l, std::string* skipped, bool dry_run) {
  if (l.kind != Kind::kSysctl) return dry_run ? ok_status() : remove_object(l.kind, l.name);
  const std::string ns = l.extra.substr(0, l.extra.find(' '));
  const std::string value = l.extra.substr(l.extra.find(' ') + 1);
  if (ns != "-" && ns != own_ipc_namespace()) {
    if (skipped) *skipped = "changed in IPC namespace " + ns + ", not this one";
    return ok_status();
  }
  if (dry_run) return ok_status();
  if (!restore_raw(l.name.c_str(), (value + "\n").c_str()))
    return errno_error("write", l.name + " = " + value);
  return ok_status();
}

}  // namespace ipcb::manifest
