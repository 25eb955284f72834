// The guards of objects.h.
#include "suites/conformance/objects.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace ipcb::conform {
namespace {

int sysv_get(Sysv kind, key_t key) {
  switch (kind) {
    case Sysv::kShm:
      return ::shmget(key, 0, 0);
    case Sysv::kMsg:
      return ::msgget(key, 0);
    case Sysv::kSem:
      return ::semget(key, 0, 0);
  }
  return -1;
}

void sysv_rmid(Sysv kind, int id) {
  switch (kind) {
    case Sysv::kShm:
      ::shmctl(id, IPC_RMID, nullptr);
      break;
    case Sysv::kMsg:
      ::msgctl(id, IPC_RMID, nullptr);
      break;
    case Sysv::kSem:
      ::semctl(id, 0, IPC_RMID);
      break;
  }
}

}  // namespace

void remove_sysv_key(Sysv kind, key_t key) {
  int id = sysv_get(kind, key);
  if (id >= 0) sysv_rmid(kind, id);
}

Cleanup sweep_key(Sysv kind, key_t key) {
  return Cleanup([kind, key] { remove_sysv_key(kind, key); });
}

SysvObject::SysvObject(Sysv kind, key_t key, int id)
    : kind_(kind), key_(key), id_(id), err_(errno) {}

SysvObject::~SysvObject() {
  if (id_ >= 0) sysv_rmid(kind_, id_);
  remove_sysv_key(kind_, key_);
}

std::string SysvObject::error() const {
  return std::strerror(err_);
}

ShmSegment::ShmSegment(key_t key, size_t size, int mode)
    : SysvObject(Sysv::kShm, key, ::shmget(key, size, IPC_CREAT | IPC_EXCL | mode)) {}

MsgQueue::MsgQueue(key_t key, int mode)
    : SysvObject(Sysv::kMsg, key, ::msgget(key, IPC_CREAT | IPC_EXCL | mode)) {}

SemSet::SemSet(key_t key, int nsems, int mode)
    : SysvObject(Sysv::kSem, key, ::semget(key, nsems, IPC_CREAT | IPC_EXCL | mode)) {}

ShmAttachment::ShmAttachment(int id, int flags, const void* addr)
    : p_(::shmat(id, addr, flags)), err_(errno) {}

std::string ShmAttachment::error() const {
  return std::strerror(err_);
}

void ShmAttachment::detach() {
  if (ok()) ::shmdt(p_);
  p_ = reinterpret_cast<void*>(-1);
}

shmid_ds shm_stat(int id) {
  shmid_ds ds{};
  if (::shmctl(id, IPC_STAT, &ds) != 0) ADD_FAILURE() << "IPC_STAT: " << std::strerror(errno);
  return ds;
}

int msg_send(int id, long type, const std::string& text, int flags) {
  std::vector<char> buf(sizeof(long) + text.size());
  std::memcpy(buf.data(), &type, sizeof type);
  std::memcpy(buf.data() + sizeof type, text.data(), text.size());
  return ::msgsnd(id, buf.data(), text.size(), flags);
}

Received msg_receive(int id, long type, size_t max, int flags) {
  std::vector<char> buf(sizeof(long) + max);
  ssize_t n = ::msgrcv(id, buf.data(), max, type, flags);
  Received r;
  if (n < 0) {
    r.err = errno;
    return r;
  }
  std::memcpy(&r.type, buf.data(), sizeof r.type);
  r.text.assign(buf.data() + sizeof(long), static_cast<size_t>(n));
  return r;
}

msqid_ds msg_stat(int id) {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) ADD_FAILURE() << "IPC_STAT: " << std::strerror(errno);
  return ds;
}

int semop_one(int id, unsigned short num, short delta, short flags) {
  sembuf s{num, delta, flags};
  return ::semop(id, &s, 1);
}

int semctl_get(int id, int num, int cmd) {
  return ::semctl(id, num, cmd);
}

int semctl_setval(int id, int num, int val) {
  SemArg a{};
  a.val = val;
  return ::semctl(id, num, SETVAL, a);
}

std::array<long long, 4> kernel_sem() {
  std::array<long long, 4> v{};
  std::ifstream f("/proc/sys/kernel/sem");
  for (auto& x : v) f >> x;
  return v;
}

mqd_t open_mq(const std::string& name, int oflag, long maxmsg, long msgsize, mode_t mode) {
  mq_attr a{};
  a.mq_maxmsg = maxmsg;
  a.mq_msgsize = msgsize;
  return ::mq_open(name.c_str(), oflag, mode, &a);
}

int mq_open_errno(const std::string& name, int oflag, long maxmsg, long msgsize) {
  mqd_t q = open_mq(name, oflag, maxmsg, msgsize);
  if (q == static_cast<mqd_t>(-1)) return errno;
  ::mq_close(q);
  if (oflag & O_CREAT) ::mq_unlink(name.c_str());
  return 0;
}

long mq_curmsgs(mqd_t q) {
  mq_attr a{};
  return ::mq_getattr(q, &a) == 0 ? a.mq_curmsgs : -1;
}

void MqQueue::create(long maxmsg, long msgsize, int extra) {
  q = open_mq(name, O_RDWR | O_CREAT | O_EXCL | extra, maxmsg, msgsize);
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

PipeFds::PipeFds(int flags) {
  int fds[2];
  ok = ::pipe2(fds, flags) == 0;
  if (!ok) {
    err = errno;
    return;
  }
  r.reset(fds[0]);
  w.reset(fds[1]);
}

std::future<ChildResult> in_child_async(std::function<int()> fn, int timeout_ms) {
  PipeFds started;
  int w = started.w.get();
  auto child = std::async(std::launch::async, [fn, timeout_ms, w] {
    return run_in_child([&] { return ::write(w, "s", 1) == 1 ? fn() : 120; }, timeout_ms);
  });
  pollfd p{started.r.get(), POLLIN, 0};
  ::poll(&p, 1, timeout_ms);  // a failed fork shows in get()
  return child;
}

long fill_pipe(int w) {
  std::vector<char> page(static_cast<size_t>(::sysconf(_SC_PAGESIZE)), 'x');
  long total = 0;
  for (long n; (n = ::write(w, page.data(), page.size())) > 0;) total += n;
  return total;
}

short poll_one(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, ms) == 1 ? p.revents : 0;
}

InaccessiblePage::InaccessiblePage()
    : p_(::mmap(nullptr, static_cast<size_t>(::sysconf(_SC_PAGESIZE)), PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) {}

InaccessiblePage::~InaccessiblePage() {
  if (p_ != MAP_FAILED) ::munmap(p_, static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
}

}  // namespace ipcb::conform
