// The rows of the shared behaviours' ops table (shared_ops.h), one per mechanism.
#include "suites/conformance/shared_ops.h"

#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

constexpr int kToken = 42;      // what put() leaves and check() looks for
constexpr size_t kSize = 4096;  // size of the memory objects

// Writes kToken to (or checks it in) the first word of a MAP_SHARED mapping of `fd`, closes it.
int poke_fd(int fd, bool write) {
  if (fd < 0) return errno;
  void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return errno;
  int* word = static_cast<int*>(p);
  int rc = 0;
  if (write) {
    *word = kToken;
    rc = failed_with(::msync(p, kSize, MS_SYNC));  // mmap(2): written back before the unmap
  } else if (*word != kToken) {
    rc = ENODATA;
  }
  if (::munmap(p, kSize) != 0 && rc == 0) rc = errno;
  return rc;
}

// A new file-backed object of kSize bytes (open(2) flags O_CREAT|O_EXCL); closes it.
int sized(int fd) {
  if (fd < 0) return errno;
  int rc = failed_with(::ftruncate(fd, kSize));
  ::close(fd);
  return rc;
}

int close_fd(int fd) {
  return fd < 0 ? errno : (::close(fd), 0);
}

// --- sysv_shm: shmget(2), shmat(2), shmctl(2) ---------------------------------------------
int shm_id(const Id& id) {
  return ::shmget(id.key, 0, 0600);
}
int shm_create(const Id& id, mode_t m) {
  return failed_with(::shmget(id.key, kSize, IPC_CREAT | IPC_EXCL | m));
}
int shm_poke(const Id& id, bool write) {
  int shm = shm_id(id);
  if (shm < 0) return errno;
  void* p = ::shmat(shm, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) return errno;
  int rc = 0;
  if (write) {
    *static_cast<int*>(p) = kToken;
  } else if (*static_cast<int*>(p) != kToken) {
    rc = ENODATA;
  }
  ::shmdt(p);
  return rc;
}
const Ops kSysvShm = {
    .name = "sysv_shm",
    .create_man = "shmget(2)",
    .remove_man = "shmctl(2)",
    .persist_man = "shmctl(2)",
    .create = shm_create,
    .open = [](const Id& id) { return failed_with(shm_id(id)); },
    .remove =
        [](const Id& id) {
          int s = shm_id(id);
          return s < 0 ? errno : failed_with(::shmctl(s, IPC_RMID, nullptr));
        },
    .put = [](const Id& id) { return shm_poke(id, true); },
    .check = [](const Id& id) { return shm_poke(id, false); },
    .rows = {.exclusive_create = "S02", .open_without_create = "S01"},
};

// --- sysv_msg: msgget(2), msgsnd(2)/msgrcv(2), msgctl(2) ----------------------------------
struct Msg {
  long mtype;
  int token;
};
int msg_id(const Id& id) {
  return ::msgget(id.key, 0600);
}
int msg_create(const Id& id, mode_t m) {
  return failed_with(::msgget(id.key, IPC_CREAT | IPC_EXCL | m));
}
int msg_take(const Id& id) {
  int q = msg_id(id);
  Msg m{};
  if (q < 0 || ::msgrcv(q, &m, sizeof m.token, 0, IPC_NOWAIT) < 0) return errno;
  return m.token == kToken ? 0 : ENODATA;
}
const Ops kSysvMsg = {
    .name = "sysv_msg",
    .create_man = "msgget(2)",
    .remove_man = "msgctl(2)",
    .persist_man = "sysvipc(7)",
    .create = msg_create,
    .open = [](const Id& id) { return failed_with(msg_id(id)); },
    .remove =
        [](const Id& id) {
          int q = msg_id(id);
          return q < 0 ? errno : failed_with(::msgctl(q, IPC_RMID, nullptr));
        },
    .put =
        [](const Id& id) {
          Msg m{1, kToken};
          int q = msg_id(id);
          return q < 0 ? errno : failed_with(::msgsnd(q, &m, sizeof m.token, IPC_NOWAIT));
        },
    .check = msg_take,
    // msgrcv(2): IPC_NOWAIT and no message of the requested type: ENOMSG (not EAGAIN).
    .try_empty = msg_take,
    .would_block = ENOMSG,
    .wait_man = "msgrcv(2)",
    .rows = {.exclusive_create = "M02"},
};

// --- sysv_sem: semget(2), semop(2)/semtimedop(2), semctl(2) -------------------------------
int sem_id(const Id& id) {
  return ::semget(id.key, 0, 0600);
}
int sem_add(const Id& id, short delta, short flags, const timespec* timeout = nullptr) {
  int s = sem_id(id);
  sembuf op{0, delta, flags};
  return s < 0 ? errno : failed_with(::semtimedop(s, &op, 1, timeout));
}
const Ops kSysvSem = {
    .name = "sysv_sem",
    .create_man = "semget(2)",
    .remove_man = "semctl(2)",
    .persist_man = "sysvipc(7)",
    .create =
        [](const Id& id, mode_t m) {
          int s = ::semget(id.key, 1, IPC_CREAT | IPC_EXCL | m);
          return s < 0 ? errno : failed_with(::semctl(s, 0, SETVAL, 0));
        },
    .open = [](const Id& id) { return failed_with(sem_id(id)); },
    .remove =
        [](const Id& id) {
          int s = sem_id(id);
          return s < 0 ? errno : failed_with(::semctl(s, 0, IPC_RMID));
        },
    .put = [](const Id& id) { return sem_add(id, 1, 0); },
    .check =
        [](const Id& id) {
          int rc = sem_add(id, -1, IPC_NOWAIT);
          return rc == EAGAIN ? ENODATA : rc;
        },
    // semop(2): IPC_NOWAIT on an operation that would wait: EAGAIN.
    .try_empty = [](const Id& id) { return sem_add(id, -1, IPC_NOWAIT); },
    .would_block = EAGAIN,
    .wait_man = "semop(2)",
    // semop(2): semtimedop whose time limit expires fails with EAGAIN (not ETIMEDOUT).
    .timed_empty =
        [](const Id& id, int ms) {
          timespec rel{0, ms * 1000000L};
          return sem_add(id, -1, 0, &rel);
        },
    .timed_out = EAGAIN,
    .rows = {.exclusive_create = "E03", .open_without_create = "E04", .would_block = "E16"},
};

// --- posix_shm: shm_open(3), shm_unlink(3) ------------------------------------------------
const Ops kPosixShm = {
    .name = "posix_shm",
    .create_man = "shm_open(3)",
    .remove_man = "shm_unlink(3)",
    .persist_man = "shm_overview(7)",
    .create =
        [](const Id& id, mode_t m) {
          return sized(::shm_open(id.name.c_str(), O_CREAT | O_EXCL | O_RDWR, m));
        },
    .open = [](const Id& id) { return close_fd(::shm_open(id.name.c_str(), O_RDWR, 0)); },
    .remove = [](const Id& id) { return failed_with(::shm_unlink(id.name.c_str())); },
    .put = [](const Id& id) { return poke_fd(::shm_open(id.name.c_str(), O_RDWR, 0), true); },
    .check = [](const Id& id) { return poke_fd(::shm_open(id.name.c_str(), O_RDWR, 0), false); },
    .rows = {.exclusive_create = "P08", .open_without_create = "P16", .persistence = "P17"},
};

// --- posix_mq: mq_open(3), mq_send(3)/mq_receive(3), mq_unlink(3) --------------------------
int mq_take(const Id& id, const timespec* until) {
  mqd_t q = ::mq_open(id.name.c_str(), O_RDWR | (until ? 0 : O_NONBLOCK));
  if (q == static_cast<mqd_t>(-1)) return errno;
  char buf[16];
  long n = until ? ::mq_timedreceive(q, buf, sizeof buf, nullptr, until)
                 : ::mq_receive(q, buf, sizeof buf, nullptr);
  int rc = n < 0 ? errno : (n == 1 && buf[0] == kToken ? 0 : ENODATA);
  ::mq_close(q);
  return rc;
}
const Ops kPosixMq = {
    .name = "posix_mq",
    .create_man = "mq_open(3)",
    .remove_man = "mq_unlink(3)",
    .persist_man = "mq_overview(7)",
    .create =
        [](const Id& id, mode_t m) {
          mq_attr a{};
          a.mq_maxmsg = 4;
          a.mq_msgsize = 16;
          mqd_t q = ::mq_open(id.name.c_str(), O_CREAT | O_EXCL | O_RDWR, m, &a);
          return q == static_cast<mqd_t>(-1) ? errno : (::mq_close(q), 0);
        },
    .open =
        [](const Id& id) {
          mqd_t q = ::mq_open(id.name.c_str(), O_RDWR);
          return q == static_cast<mqd_t>(-1) ? errno : (::mq_close(q), 0);
        },
    .remove = [](const Id& id) { return failed_with(::mq_unlink(id.name.c_str())); },
    .put =
        [](const Id& id) {
          mqd_t q = ::mq_open(id.name.c_str(), O_RDWR);
          if (q == static_cast<mqd_t>(-1)) return errno;
          char token = kToken;
          int rc = failed_with(::mq_send(q, &token, 1, 0));
          ::mq_close(q);
          return rc;
        },
    .check = [](const Id& id) { return mq_take(id, nullptr); },
    // mq_receive(3): O_NONBLOCK and an empty queue: EAGAIN.
    .try_empty = [](const Id& id) { return mq_take(id, nullptr); },
    .would_block = EAGAIN,
    .wait_man = "mq_receive(3)",
    // mq_receive(3): mq_timedreceive with an expired timeout: ETIMEDOUT.
    .timed_empty =
        [](const Id& id, int ms) {
          timespec until = clock_in(CLOCK_REALTIME, ms);
          return mq_take(id, &until);
        },
    .timed_out = ETIMEDOUT,
    .rows = {.exclusive_create = "Q06",
             .open_without_create = "Q08",
             .would_block = "Q38",
             .removal = "Q21"},
};

// --- posix_sem (named): sem_open(3), sem_post(3)/sem_wait(3), sem_unlink(3) -----------------
int sem_take(const Id& id, const timespec* until) {
  sem_t* s = ::sem_open(id.name.c_str(), 0);
  if (s == SEM_FAILED) return errno;
  int rc = failed_with(until ? ::sem_timedwait(s, until) : ::sem_trywait(s));
  ::sem_close(s);
  return rc;
}
const Ops kPosixSem = {
    .name = "posix_sem",
    .create_man = "sem_open(3)",
    .remove_man = "sem_unlink(3)",
    .persist_man = "sem_overview(7)",
    .create =
        [](const Id& id, mode_t m) {
          sem_t* s = ::sem_open(id.name.c_str(), O_CREAT | O_EXCL, m, 0);
          return s == SEM_FAILED ? errno : (::sem_close(s), 0);
        },
    .open =
        [](const Id& id) {
          sem_t* s = ::sem_open(id.name.c_str(), 0);
          return s == SEM_FAILED ? errno : (::sem_close(s), 0);
        },
    .remove = [](const Id& id) { return failed_with(::sem_unlink(id.name.c_str())); },
    .put =
        [](const Id& id) {
          sem_t* s = ::sem_open(id.name.c_str(), 0);
          if (s == SEM_FAILED) return errno;
          int rc = failed_with(::sem_post(s));
          if (::sem_close(s) != 0 && rc == 0) rc = errno;  // sem_close(3): 0 on success
          return rc;
        },
    .check =
        [](const Id& id) {
          int rc = sem_take(id, nullptr);
          return rc == EAGAIN ? ENODATA : rc;
        },
    // sem_wait(3): sem_trywait when the decrement cannot be done at once: EAGAIN.
    .try_empty = [](const Id& id) { return sem_take(id, nullptr); },
    .would_block = EAGAIN,
    .wait_man = "sem_wait(3)",
    // sem_wait(3): sem_timedwait that times out: ETIMEDOUT.
    .timed_empty =
        [](const Id& id, int ms) {
          timespec until = clock_in(CLOCK_REALTIME, ms);
          return sem_take(id, &until);
        },
    .timed_out = ETIMEDOUT,
    .rows = {.exclusive_create = "N06", .open_without_create = "N08", .persistence = "N11"},
};

// --- fifo: mkfifo(3), open(2), unlink(2) ---------------------------------------------------
const Ops kFifo = {
    .name = "fifo",
    .create_man = "mkfifo(3)",
    .remove_man = "unlink(2)",
    .persist_man = "fifo(7)",
    .create = [](const Id& id, mode_t m) { return failed_with(::mkfifo(id.path.c_str(), m)); },
    .open = [](const Id& id) { return close_fd(::open(id.path.c_str(), O_RDONLY | O_NONBLOCK)); },
    .remove = [](const Id& id) { return failed_with(::unlink(id.path.c_str())); },
    .put = [](const Id&) { return 0; },  // data does not outlive the last open: the name does
    .check =
        [](const Id& id) {
          struct stat st {};
          if (::stat(id.path.c_str(), &st) != 0) return errno;
          return S_ISFIFO(st.st_mode) ? 0 : ENODATA;
        },
    // fifo(7), pipe(7): O_NONBLOCK read of an empty FIFO that has a writer: EAGAIN.
    .try_empty =
        [](const Id& id) {
          int fd = ::open(id.path.c_str(), O_RDWR | O_NONBLOCK);
          if (fd < 0) return errno;
          char c;
          int rc = failed_with(::read(fd, &c, 1));
          ::close(fd);
          return rc;
        },
    .would_block = EAGAIN,
    .wait_man = "pipe(7)",
    .rows = {.would_block = "I23"},
};

// --- mmap_file: open(2), mmap(2) MAP_SHARED, unlink(2) --------------------------------------
int file_create(const Id& id, mode_t m) {
  return sized(::open(id.path.c_str(), O_CREAT | O_EXCL | O_RDWR, m));
}
const Ops kMmapFile = {
    .name = "mmap_file",
    .create_man = "open(2)",
    .remove_man = "unlink(2)",
    .persist_man = "mmap(2)",
    .create = file_create,
    .open = [](const Id& id) { return close_fd(::open(id.path.c_str(), O_RDWR)); },
    .remove = [](const Id& id) { return failed_with(::unlink(id.path.c_str())); },
    .put = [](const Id& id) { return poke_fd(::open(id.path.c_str(), O_RDWR), true); },
    .check = [](const Id& id) { return poke_fd(::open(id.path.c_str(), O_RDWR), false); },
    .rows = {.persistence = "F19"},
};

}  // namespace

void PrintTo(const Ops* ops, std::ostream* os) {
  *os << (ops ? ops->name : "null");
}

const std::vector<const Ops*>& all_ops() {
  static const std::vector<const Ops*> all = {&kSysvShm, &kSysvMsg,  &kSysvSem, &kPosixShm,
                                              &kPosixMq, &kPosixSem, &kFifo,    &kMmapFile};
  return all;
}

}  // namespace ipcb::conform
