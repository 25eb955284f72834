// RAII guards for what conformance tests make: System V objects (removed by id and by key on
// every path), file descriptors, pipes, mappings, an inaccessible page (for EFAULT) and a
// MAP_SHARED region that forked children share. Each is removed when its scope ends.
#pragma once

#include <mqueue.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/types.h>

#include <array>
#include <cstddef>
#include <functional>
#include <future>
#include <new>
#include <string>

#include "suites/conformance/conform.h"

namespace ipcb::conform {

// The three System V IPC kinds (sysvipc(7)).
enum class Sysv { kShm, kMsg, kSem };

// Removes the object of `kind` under `key`, if any: the safety net for objects made in children.
void remove_sysv_key(Sysv kind, key_t key);
// A guard that runs remove_sysv_key(kind, key) when the scope ends.
Cleanup sweep_key(Sysv kind, key_t key);

// One test's System V object: a fresh key, created exclusively (IPC_CREAT | IPC_EXCL), removed by
// id and by key on every path. id() is -1 if creation failed; error() then says why.
class SysvObject : NoCopy {
 public:
  ~SysvObject();
  key_t key() const { return key_; }
  int id() const { return id_; }
  std::string error() const;

 protected:
  // `id` is the result of the creating call; errno is read at once.
  SysvObject(Sysv kind, key_t key, int id);

 private:
  Sysv kind_;
  key_t key_;
  int id_;
  int err_;
};

// shmget(2): a segment of `size` bytes.
class ShmSegment : public SysvObject {
 public:
  explicit ShmSegment(size_t size, int mode = 0600) : ShmSegment(unique_key(), size, mode) {}

 private:
  ShmSegment(key_t key, size_t size, int mode);
};

// msgget(2): a message queue.
class MsgQueue : public SysvObject {
 public:
  explicit MsgQueue(int mode = 0600) : MsgQueue(unique_key(), mode) {}

 private:
  MsgQueue(key_t key, int mode);
};

// semget(2): a set of `nsems` semaphores.
class SemSet : public SysvObject {
 public:
  explicit SemSet(int nsems, int mode = 0600) : SemSet(unique_key(), nsems, mode) {}

 private:
  SemSet(key_t key, int nsems, int mode);
};

// shmat(2): one attachment of segment `id`, detached on every path (or by detach()).
class ShmAttachment : NoCopy {
 public:
  explicit ShmAttachment(int id, int flags = 0, const void* addr = nullptr);
  ~ShmAttachment() { detach(); }
  bool ok() const { return p_ != reinterpret_cast<void*>(-1); }
  char* data() const { return static_cast<char*>(p_); }
  std::string error() const;
  void detach();

 private:
  void* p_;
  int err_;
};

// shmctl(2) IPC_STAT of segment `id`; a failure is a test failure (and a zeroed result).
shmid_ds shm_stat(int id);

// msgsnd(2) of `text` with `type`; -1 and errno on failure.
int msg_send(int id, long type, const std::string& text, int flags = IPC_NOWAIT);
// What msgrcv(2) gave: err is 0 on success, else the errno.
struct Received {
  int err = 0;
  long type = 0;
  std::string text;
};
// msgrcv(2) of at most `max` bytes with `type` and `flags`.
Received msg_receive(int id, long type, size_t max, int flags = IPC_NOWAIT);
// msgctl(2) IPC_STAT of queue `id`; a failure is a test failure (and a zeroed result).
msqid_ds msg_stat(int id);

constexpr int kSemvmx = 32767;  // SEMVMX, semctl(2): the largest semaphore value

// semctl(2): the caller defines union semun.
union SemArg {
  int val;
  semid_ds* buf;
  unsigned short* array;
  seminfo* info;
};
// One semop(2) of `delta` on semaphore `num` of set `id`; -1 and errno on failure.
int semop_one(int id, unsigned short num, short delta, short flags = IPC_NOWAIT);
// semctl(2) `cmd` (GETVAL, GETPID, GETNCNT, GETZCNT) of semaphore `num`.
int semctl_get(int id, int num, int cmd = GETVAL);
// semctl(2) SETVAL of semaphore `num` to `val`.
int semctl_setval(int id, int num, int val);
// The four numbers of kernel.sem: SEMMSL, SEMMNS, SEMOPM, SEMMNI (zeros if unreadable).
std::array<long long, 4> kernel_sem();

// mq_open(3) of `name` with mq_maxmsg `maxmsg` and mq_msgsize `msgsize`; (mqd_t) -1 and errno
// on failure.
mqd_t open_mq(const std::string& name, int oflag, long maxmsg, long msgsize, mode_t mode = 0600);
// The errno of a failed mq_open of `name`, or 0 if it succeeded (a queue it made is removed).
int mq_open_errno(const std::string& name, int oflag, long maxmsg = 4, long msgsize = 64);

// The number of messages in queue `q` (mq_getattr(3) mq_curmsgs), or -1.
long mq_curmsgs(mqd_t q);

// A POSIX message queue under a fresh name; closed and unlinked on every path.
struct MqQueue {
  std::string name = unique_name();
  mqd_t q = static_cast<mqd_t>(-1);
  Cleanup guard{[this] {
    if (q != static_cast<mqd_t>(-1)) ::mq_close(q);
    ::mq_unlink(name.c_str());
  }};
  bool ok() const { return q != static_cast<mqd_t>(-1); }
  // Creates it exclusively, read-write, with the given attributes (and extra flags).
  void create(long maxmsg = 4, long msgsize = 64, int extra = 0);
};

// An owned file descriptor, closed when the scope ends.
class Fd : NoCopy {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1);

 private:
  int fd_;
};

// Both ends of a pipe made with pipe2(flags); ok is false if pipe2 failed (errno kept in err).
struct PipeFds {
  Fd r, w;
  bool ok = false;
  int err = 0;
  explicit PipeFds(int flags = 0);
};

// Runs `fn` in a forked child while the test goes on and returns once the child runs (so it
// holds every descriptor the test has open now); get() waits for how it ended.
std::future<ChildResult> in_child_async(std::function<int()> fn, int timeout_ms = 5000);
// Writes page-sized records to the non-blocking write end `w` of a pipe until it would block;
// returns the bytes written.
long fill_pipe(int w);
// The revents of `fd` for `events` after waiting up to `ms` (0 if nothing is ready).
short poll_one(int fd, short events, int ms = 0);

// A mapping of `n` bytes of `fd` at `off`, released on every path; ok() false if mmap failed.
struct Mapping : NoCopy {
  void* p = MAP_FAILED;
  size_t len = 0;
  Mapping(int fd, size_t n, int prot = PROT_READ | PROT_WRITE, int flags = MAP_SHARED,
          off_t off = 0)
      : p(::mmap(nullptr, n, prot, flags, fd, off)), len(n) {}
  ~Mapping() {
    if (p != MAP_FAILED) ::munmap(p, len);
  }
  bool ok() const { return p != MAP_FAILED; }
  char* bytes() const { return static_cast<char*>(p); }
};

// One page no access is allowed to (a buffer that must give EFAULT), unmapped on every path.
class InaccessiblePage : NoCopy {
 public:
  InaccessiblePage();
  ~InaccessiblePage();
  void* get() const { return p_ == MAP_FAILED ? nullptr : p_; }

 private:
  void* p_;
};

// A value-initialised T in MAP_SHARED anonymous memory, so forked children see the same object;
// unmapped (never destroyed: T is plain data) when the scope ends. get() is null if mmap failed.
template <class T>
class SharedMemory : NoCopy {
 public:
  SharedMemory() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    t_ = p == MAP_FAILED ? nullptr : new (p) T{};
  }
  ~SharedMemory() {
    if (t_ != nullptr) ::munmap(t_, sizeof(T));
  }
  T* get() const { return t_; }
  T* operator->() const { return t_; }
  bool ok() const { return t_ != nullptr; }

 private:
  T* t_;
};

}  // namespace ipcb::conform
