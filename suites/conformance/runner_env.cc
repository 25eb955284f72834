// The environment a conformance run sees, for conformance.json, and the known environment
// breakers: a table of preconditions, each with the mechanisms whose tests cannot work without
// it. A FAIL of such a test while its precondition is broken is reported BROKEN, naming it, and
// never as the kernel's misbehaviour.
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <linux/magic.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "harness/sys/sys.h"
#include "harness/sys/sys_kernel.h"
#include "suites/conformance/runner_internal.h"

namespace ipcb::runner {
namespace {

namespace fs = std::filesystem;
constexpr unsigned long long kMinShmFree = 1ULL << 20;  // tests make objects of a few pages
constexpr long kMqueueMagic = 0x19800202;  // the mqueue file system's f_type (ipc/mqueue.c)

std::string errno_text(const char* call) {
  return std::string(call) + " fails: " + std::strerror(errno);
}

// --- the checks: "" when fine, else what is wrong ------------------------------------------

std::string check_dev_shm() {
  struct statvfs v {};
  if (::statvfs("/dev/shm", &v) != 0) return "/dev/shm: " + errno_text("statvfs");
  if (v.f_flag & ST_RDONLY) return "/dev/shm is mounted read-only";
  unsigned long long free = static_cast<unsigned long long>(v.f_bavail) * v.f_frsize;
  if (free < kMinShmFree) return "/dev/shm is full (" + std::to_string(free) + " bytes free)";
  std::string probe = "/dev/shm/ipcb-conf-probe-" + sys::random_hex(8);
  int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return "/dev/shm: creating a file " + errno_text("open");
  ::close(fd);
  ::unlink(probe.c_str());
  return "";
}

std::string check_rmid_forced() {
  std::string v = sys::read_first_line("/proc/sys/kernel/shm_rmid_forced");
  if (v.empty() || v == "0") return "";
  return "kernel.shm_rmid_forced = " + v +
         " (a segment no process has attached is destroyed when its creator exits)";
}

std::string check_sysv(int which) {
  int id = -1;
  if (which == 0 && (id = ::shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600)) >= 0)
    ::shmctl(id, IPC_RMID, nullptr);
  if (which == 1 && (id = ::msgget(IPC_PRIVATE, IPC_CREAT | 0600)) >= 0)
    ::msgctl(id, IPC_RMID, nullptr);
  if (which == 2 && (id = ::semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) >= 0)
    ::semctl(id, 0, IPC_RMID);
  if (id >= 0) return "";
  static const char* kCalls[] = {"shmget(IPC_PRIVATE)", "msgget(IPC_PRIVATE)",
                                 "semget(IPC_PRIVATE)"};
  return errno_text(kCalls[which]);
}

std::string check_sysv_shm() {
  return check_sysv(0);
}
std::string check_sysv_msg() {
  return check_sysv(1);
}
std::string check_sysv_sem() {
  return check_sysv(2);
}

std::string check_posix_mq() {
  std::string name = "/ipcb-conf-probe-" + sys::random_hex(8);
  mq_attr a{};
  a.mq_maxmsg = 1;
  a.mq_msgsize = 1;
  mqd_t q = ::mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &a);
  if (q == static_cast<mqd_t>(-1)) return errno_text("mq_open of a one-byte queue");
  ::mq_close(q);
  ::mq_unlink(name.c_str());
  return "";
}

std::string check_dev_mqueue() {
  struct statfs s {};
  if (::statfs("/dev/mqueue", &s) != 0 || s.f_type != kMqueueMagic)
    return "/dev/mqueue is not a mounted mqueue file system (mount -t mqueue none /dev/mqueue)";
  return "";
}

std::string check_tmp() {
  std::error_code ec;
  std::string dir = (fs::temp_directory_path(ec) / "ipcb-conf-probe-XXXXXX").string();
  if (ec) return "no temporary directory: " + ec.message();
  if (::mkdtemp(dir.data()) == nullptr)
    return dir.substr(0, dir.rfind('/')) + ": " + errno_text("mkdtemp");
  ::rmdir(dir.c_str());
  return "";
}

std::string check_nofile() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < 64)
    return "RLIMIT_NOFILE is " + std::to_string(r.rlim_cur) + " (tests need a few dozen)";
  return "";
}

std::string check_proc() {
  return ::access("/proc/self/stat", R_OK) == 0 ? "" : "/proc is not mounted";
}

struct Known {
  const char* id;
  const char* what;
  std::vector<std::string> mechanisms;
  std::string (*check)();
};
const std::vector<Known>& table() {
  static const std::vector<Known> t = {
      {"dev_shm",
       "/dev/shm is a writable tmpfs with room",
       {"posix_shm", "posix_sem"},
       check_dev_shm},
      {"shm_rmid_forced", "kernel.shm_rmid_forced is 0", {"sysv_shm"}, check_rmid_forced},
      {"sysv_shm", "a SysV segment can be created", {"sysv_shm"}, check_sysv_shm},
      {"sysv_msg", "a SysV message queue can be created", {"sysv_msg"}, check_sysv_msg},
      {"sysv_sem", "a SysV semaphore set can be created", {"sysv_sem"}, check_sysv_sem},
      {"posix_mq", "a POSIX message queue can be created", {"posix_mq"}, check_posix_mq},
      {"dev_mqueue", "/dev/mqueue is mounted", {}, check_dev_mqueue},
      {"tmp", "the temporary directory is writable", {"*"}, check_tmp},
      {"nofile", "RLIMIT_NOFILE is at least 64", {"*"}, check_nofile},
      {"proc", "/proc is mounted", {"*"}, check_proc},
  };
  return t;
}

// --- the environment ----------------------------------------------------------------------

nlohmann::json capabilities() {
  std::ifstream f("/proc/self/status");
  unsigned long long eff = 0;
  std::string hex;
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("CapEff:", 0) == 0) {
      std::istringstream(line.substr(7)) >> hex;
      eff = std::strtoull(hex.c_str(), nullptr, 16);
    }
  }
  nlohmann::json j = {{"CapEff", hex}};
  static const std::pair<const char*, int> kCaps[] = {{"CAP_SETUID", 7},
                                                      {"CAP_IPC_LOCK", 14},
                                                      {"CAP_IPC_OWNER", 15},
                                                      {"CAP_SYS_ADMIN", 21},
                                                      {"CAP_SYS_RESOURCE", 24}};
  for (const auto& [name, bit] : kCaps) j[name] = !hex.empty() && ((eff >> bit) & 1ULL) != 0;
  return j;
}

nlohmann::json namespaces() {
  nlohmann::json j = nlohmann::json::object();
  for (const char* ns : {"ipc", "mnt", "user", "pid", "net"}) {
    std::error_code e1, e2;
    auto self = fs::read_symlink(std::string("/proc/self/ns/") + ns, e1);
    auto init = fs::read_symlink(std::string("/proc/1/ns/") + ns, e2);
    j[ns] = {{"self", e1 ? nlohmann::json() : nlohmann::json(self.string())},
             {"init", e2 ? nlohmann::json() : nlohmann::json(init.string())},
             {"private", e1 || e2 ? nlohmann::json() : nlohmann::json(self != init)}};
  }
  return j;
}

nlohmann::json sysctls() {
  static const char* kNames[] = {"kernel.shmmax",          "kernel.shmall",
                                 "kernel.shmmni",          "kernel.shm_rmid_forced",
                                 "kernel.shm_next_id",     "kernel.msgmax",
                                 "kernel.msgmnb",          "kernel.msgmni",
                                 "kernel.msg_next_id",     "kernel.sem",
                                 "kernel.sem_next_id",     "fs.mqueue.msg_max",
                                 "fs.mqueue.msgsize_max",  "fs.mqueue.queues_max",
                                 "fs.mqueue.msg_default",  "fs.mqueue.msgsize_default",
                                 "fs.pipe-max-size",       "fs.pipe-user-pages-soft",
                                 "fs.pipe-user-pages-hard"};
  nlohmann::json j = nlohmann::json::object();
  for (const char* name : kNames) {
    std::string path = std::string("/proc/sys/") + name;
    for (size_t i = 10; i < path.size(); ++i) path[i] = path[i] == '.' ? '/' : path[i];
    std::string v = sys::read_first_line(path);
    for (char& c : v) c = c == '\t' ? ' ' : c;
    j[name] = v.empty() ? nlohmann::json() : nlohmann::json(v);
  }
  return j;
}

nlohmann::json rlimits() {
  static const std::pair<const char*, int> kLimits[] = {{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
                                                        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
                                                        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
                                                        {"RLIMIT_NPROC", RLIMIT_NPROC}};
  auto value = [](rlim_t v) {
    return v == RLIM_INFINITY ? nlohmann::json("unlimited") : nlohmann::json(v);
  };
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, which] : kLimits) {
    rlimit r{};
    if (::getrlimit(which, &r) == 0)
      j[name] = {{"soft", value(r.rlim_cur)}, {"hard", value(r.rlim_max)}};
  }
  return j;
}

nlohmann::json filesystem(const char* path, const char* parent) {
  struct statfs s {};
  struct statvfs v {};
  struct stat st {
  }, up{};
  if (::statfs(path, &s) != 0 || ::statvfs(path, &v) != 0 || ::stat(path, &st) != 0)
    return {{"present", false}};
  bool mount_point = ::stat(parent, &up) == 0 && up.st_dev != st.st_dev;
  const char* type = s.f_type == TMPFS_MAGIC    ? "tmpfs"
                     : s.f_type == kMqueueMagic ? "mqueue"
                                                : nullptr;
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(s.f_type));
  return {{"present", true},
          {"mounted", mount_point},
          {"type", type ? type : hex},
          {"read_only", (v.f_flag & ST_RDONLY) != 0},
          {"size_bytes", static_cast<unsigned long long>(v.f_blocks) * v.f_frsize},
          {"free_bytes", static_cast<unsigned long long>(v.f_bavail) * v.f_frsize}};
}

}  // namespace

std::vector<Precondition> check_preconditions() {
  std::vector<Precondition> out;
  for (const Known& k : table()) out.push_back({k.id, k.what, k.mechanisms, k.check()});
  return out;
}

const Precondition* breaker_for(const std::vector<Precondition>& pre, const std::string& mechanism,
                                const std::string& needs) {
  std::istringstream named(needs);
  std::vector<std::string> ids{std::istream_iterator<std::string>(named), {}};
  for (const Precondition& p : pre) {
    if (p.problem.empty()) continue;
    for (const std::string& m : p.mechanisms) {
      if (m == "*" || m == mechanism) return &p;
    }
    if (std::find(ids.begin(), ids.end(), p.id) != ids.end()) return &p;
  }
  return nullptr;
}

nlohmann::json environment_json(const std::vector<Precondition>& pre) {
  utsname u{};
  ::uname(&u);
  nlohmann::json checks = nlohmann::json::array();
  for (const Precondition& p : pre) {
    checks.push_back({{"id", p.id},
                      {"what", p.what},
                      {"ok", p.problem.empty()},
                      {"problem", p.problem.empty() ? nlohmann::json() : nlohmann::json(p.problem)},
                      {"mechanisms", p.mechanisms}});
  }
  std::error_code ec;
  return {{"kernel", std::string(u.sysname) + " " + u.release},
          {"kernel_version", u.version},
          {"machine", u.machine},
          {"glibc", gnu_get_libc_version()},
          {"uid", ::getuid()},
          {"euid", ::geteuid()},
          {"gid", ::getgid()},
          {"egid", ::getegid()},
          {"capabilities", capabilities()},
          {"namespaces", namespaces()},
          {"sysctls", sysctls()},
          {"rlimits", rlimits()},
          {"filesystems",
           {{"/dev/shm", filesystem("/dev/shm", "/dev")},
            {"/dev/mqueue", filesystem("/dev/mqueue", "/dev")},
            {"temp_directory", fs::temp_directory_path(ec).string()}}},
          {"preconditions", checks}};
}

}  // namespace ipcb::runner
