// POSIX and SysV message queues (see sys_kernel.h).
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "harness/sys/sys_kernel.h"

namespace ipcb::sys {
namespace {

std::string msg_key_text(key_t key) {
  return "msg key " + std::to_string(key);
}

}  // namespace

void close_mq(int mqd) {
  ::mq_close(mqd);
}

Result<Mq> mq_create_excl(const std::string& name, int flags, long maxmsg, long msgsize) {
  mq_attr attr{};
  attr.mq_maxmsg = maxmsg;
  attr.mq_msgsize = msgsize;
  mqd_t q = ::mq_open(name.c_str(), flags | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
  if (q == static_cast<mqd_t>(-1)) {
    std::string detail;
    if (errno == EINVAL) {
      detail = "mq_msgsize above fs.mqueue.msgsize_max or mq_maxmsg above fs.mqueue.msg_max";
    }
    if (errno == EMFILE) detail = "RLIMIT_MSGQUEUE (ulimit -q) is too small for the queue";
    if (errno == ENOSPC) detail = "fs.mqueue.queues_max queues exist already";
    return errno_error(
        "mq_open(O_CREAT|O_EXCL)",
        name + ", maxmsg " + std::to_string(maxmsg) + ", msgsize " + std::to_string(msgsize),
        detail);
  }
  return Mq(q);
}

Result<Mq> mq_open_existing(const std::string& name, int flags) {
  mqd_t q = ::mq_open(name.c_str(), flags | O_CLOEXEC);
  if (q == static_cast<mqd_t>(-1)) return errno_error("mq_open", name);
  return Mq(q);
}

Result<MqAttr> mq_attributes(const Mq& q, const std::string& what) {
  mq_attr a{};
  if (::mq_getattr(q.get(), &a) != 0) return errno_error("mq_getattr", what);
  return MqAttr{a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs};
}

Status mq_remove(const std::string& name) {
  if (::mq_unlink(name.c_str()) != 0 && errno != ENOENT) return errno_error("mq_unlink", name);
  return ok_status();
}

uint64_t realtime_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

Result<bool> mq_send_msg(const Mq& q, std::span<const std::byte> msg, uint64_t deadline_realtime_ns,
                         const std::string& what) {
  const char* p = reinterpret_cast<const char*>(msg.data());
  timespec ts = to_timespec(deadline_realtime_ns);
  int r = retry_eintr([&] {
    return deadline_realtime_ns != 0 ? ::mq_timedsend(q.get(), p, msg.size(), 0, &ts)
                                     : ::mq_send(q.get(), p, msg.size(), 0);
  });
  if (r == 0) return true;
  if (would_block(errno) || errno == ETIMEDOUT) return false;
  return errno_error(deadline_realtime_ns != 0 ? "mq_timedsend" : "mq_send", what);
}

Result<std::optional<size_t>> mq_recv_msg(const Mq& q, std::span<std::byte> buf,
                                          uint64_t deadline_realtime_ns, const std::string& what) {
  char* p = reinterpret_cast<char*>(buf.data());
  timespec ts = to_timespec(deadline_realtime_ns);
  ssize_t n = retry_eintr([&] {
    return deadline_realtime_ns != 0 ? ::mq_timedreceive(q.get(), p, buf.size(), nullptr, &ts)
                                     : ::mq_receive(q.get(), p, buf.size(), nullptr);
  });
  if (n >= 0) return std::optional<size_t>(static_cast<size_t>(n));
  if (would_block(errno) || errno == ETIMEDOUT) return std::optional<size_t>();
  return errno_error(deadline_realtime_ns != 0 ? "mq_timedreceive" : "mq_receive", what);
}

Result<int> msgget_create_excl(key_t key) {
  int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) {
    std::string detail;
    if (errno == ENOSPC) detail = "kernel.msgmni queues exist already";
    return errno_error("msgget(IPC_CREAT|IPC_EXCL)", msg_key_text(key), detail);
  }
  return id;
}

Result<int> msgget_existing(key_t key) {
  int id = ::msgget(key, 0);
  if (id < 0) return errno_error("msgget", msg_key_text(key));
  return id;
}

Result<MsgQueueInfo> msg_stat(int id) {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) {
    return errno_error("msgctl(IPC_STAT)", "msg id " + std::to_string(id));
  }
  return MsgQueueInfo{ds.msg_perm.uid, ds.msg_perm.cuid, static_cast<mode_t>(ds.msg_perm.mode),
                      static_cast<size_t>(ds.msg_qbytes)};
}

Status msg_rmid(int id) {
  if (::msgctl(id, IPC_RMID, nullptr) != 0 && errno != EINVAL && errno != EIDRM) {
    return errno_error("msgctl(IPC_RMID)", "msg id " + std::to_string(id));
  }
  return ok_status();
}

Result<bool> msg_send(int id, const void* msgp, size_t text_bytes, bool nowait) {
  int r = retry_eintr([&] { return ::msgsnd(id, msgp, text_bytes, nowait ? IPC_NOWAIT : 0); });
  if (r == 0) return true;
  if (nowait && errno == EAGAIN) return false;
  std::string detail;
  if (errno == EINVAL) detail = "the message may exceed kernel.msgmax";
  return errno_error("msgsnd", "msg id " + std::to_string(id), detail);
}

Result<std::optional<size_t>> msg_recv(int id, void* msgp, size_t max_text, bool nowait) {
  ssize_t n = retry_eintr([&] { return ::msgrcv(id, msgp, max_text, 0, nowait ? IPC_NOWAIT : 0); });
  if (n >= 0) return std::optional<size_t>(static_cast<size_t>(n));
  if (nowait && errno == ENOMSG) return std::optional<size_t>();
  return errno_error("msgrcv", "msg id " + std::to_string(id));
}

}  // namespace ipcb::sys
