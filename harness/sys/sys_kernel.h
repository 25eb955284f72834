// Syscall wrappers for kernel channels (fifos, sockets, message queues, memfd) and the limits
// that bound them, in the style of sys.h: retry on EINTR where safe, failures become Errors
// naming call, object and errno. Calls that may find nothing to do on a non-blocking object
// return std::nullopt (EAGAIN, ENOMSG, ETIMEDOUT) so the caller decides how to wait.
#pragma once

#include <sys/stat.h>

#include <optional>

#include "harness/sys/sys.h"

namespace ipcb::sys {

// EAGAIN or EWOULDBLOCK: a non-blocking call that would have waited.
bool would_block(int err);
// "fd N", for error messages.
std::string fd_text(int fd);

// --- descriptors --------------------------------------------------------------------------------
Status set_nonblocking(int fd, bool on, const std::string& what);
// O_RDONLY, O_WRONLY or O_RDWR (fcntl F_GETFL & O_ACCMODE).
Result<int> access_mode(int fd, const std::string& what);
Result<struct stat> fstat_fd(int fd, const std::string& what);
uid_t euid();
// Fails unless `st` is of file type `type` (S_IFIFO, ...; 0: any), owned by this effective user
// and closed to group and others: what a peer checks of an object it opened by name.
Status check_private(const struct stat& st, mode_t type, const std::string& what);
// The target of /proc/self/fd/N ("pipe:[123]", "/memfd:name (deleted)", a path, ...).
Result<std::string> fd_link(int fd);
// One read(2). Returns the bytes read (0: end of file), nullopt if it would block.
Result<std::optional<size_t>> read_some(int fd, std::span<std::byte> buf, const std::string& what);
// One writev(2) of a then b; for a socket one sendmsg(2) with MSG_NOSIGNAL, so a closed peer is
// EPIPE, not a signal. Returns the bytes written (possibly fewer), nullopt if it would block.
Result<std::optional<size_t>> write_some(int fd, std::span<const std::byte> a,
                                         std::span<const std::byte> b, bool socket,
                                         const std::string& what);
// One poll(2) of one descriptor for up to timeout_ms. Returns revents (0: timed out or EINTR).
Result<short> poll_one(int fd, short events, int timeout_ms);

// --- FIFOs --------------------------------------------------------------------------------------
// mkfifo(3); fails with EEXIST if the path exists (the exclusivity of a FIFO's creation).
Status make_fifo(const std::string& path, mode_t mode);

// --- sockets ------------------------------------------------------------------------------------
// socketpair(AF_UNIX, type | SOCK_CLOEXEC).
Result<std::pair<Fd, Fd>> make_socketpair(int type, const std::string& what);
Status set_socket_int(int fd, int level, int option, int value, const char* option_name,
                      const std::string& what);
Result<int> get_socket_int(int fd, int level, int option, const char* option_name,
                           const std::string& what);
// A non-blocking TCP listener on 127.0.0.1 with a kernel-chosen port.
Result<Fd> tcp_listen_loopback(int backlog);
Result<uint16_t> local_port(int fd);
// A blocking connect to 127.0.0.1:port.
Result<Fd> tcp_connect_loopback(uint16_t port);
// accept4(SOCK_CLOEXEC) on a non-blocking listener; nullopt if no connection is waiting.
Result<std::optional<Fd>> accept_some(int listener);
struct Datagram {
  size_t bytes = 0;        // 0: the peer closed (for SOCK_SEQPACKET)
  bool truncated = false;  // the message was longer than the buffer (MSG_TRUNC)
};
// One recvmsg(2) of one record; nullopt if it would block.
Result<std::optional<Datagram>> recv_record(int fd, std::span<std::byte> buf,
                                            const std::string& what);

// --- POSIX message queues (mq_overview(7)); on Linux an mqd_t is a descriptor poll(2) takes ----
// mq_close(3).
void close_mq(int mqd);
// An owned message queue descriptor.
using Mq = IntHandle<close_mq>;
struct MqAttr {
  long maxmsg = 0;
  long msgsize = 0;
  long curmsgs = 0;
};
// mq_open(O_CREAT|O_EXCL, 0600) with these attributes; `flags` is O_RDONLY/O_WRONLY/O_RDWR plus
// O_NONBLOCK if wanted.
Result<Mq> mq_create_excl(const std::string& name, int flags, long maxmsg, long msgsize);
Result<Mq> mq_open_existing(const std::string& name, int flags);
Result<MqAttr> mq_attributes(const Mq& q, const std::string& what);
Status mq_remove(const std::string& name);  // mq_unlink; already gone is fine
// CLOCK_REALTIME in nanoseconds: mq_timed* deadlines are on this clock.
uint64_t realtime_ns();
// mq_send, or mq_timedsend when deadline_realtime_ns != 0. False if the queue stayed full
// (EAGAIN on a non-blocking queue, ETIMEDOUT at the deadline).
Result<bool> mq_send_msg(const Mq& q, std::span<const std::byte> msg, uint64_t deadline_realtime_ns,
                         const std::string& what);
// mq_receive or mq_timedreceive (buf.size() must be >= the queue's msgsize). nullopt if empty.
Result<std::optional<size_t>> mq_recv_msg(const Mq& q, std::span<std::byte> buf,
                                          uint64_t deadline_realtime_ns, const std::string& what);

// --- SysV message queues (sysvipc(7)) ------------------------------------------------------
Result<int> msgget_create_excl(key_t key);  // IPC_CREAT|IPC_EXCL|0600
Result<int> msgget_existing(key_t key);
struct MsgQueueInfo {
  uid_t uid = 0;
  uid_t cuid = 0;
  mode_t mode = 0;
  size_t qbytes = 0;
};
Result<MsgQueueInfo> msg_stat(int id);
Status msg_rmid(int id);  // already gone is fine
// msgsnd of `msgp` (a long mtype, then text_bytes of text). False if IPC_NOWAIT found it full.
Result<bool> msg_send(int id, const void* msgp, size_t text_bytes, bool nowait);
// msgrcv of the first message into msgp (room for a long plus max_text bytes); the text's
// length, or nullopt if IPC_NOWAIT found none. A longer message is E2BIG (never truncated).
Result<std::optional<size_t>> msg_recv(int id, void* msgp, size_t max_text, bool nowait);

// --- memfd (memfd_create(2)) ---------------------------------------------------------------
// memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING).
Result<Fd> memfd_create_sealable(const std::string& name);
// A descriptor that poll(2) reports readable once the process `pid` (a child) has exited
// (pidfd_open(2), Linux 5.3).
Result<Fd> pidfd_open(pid_t pid);
// Seals the size (F_SEAL_SHRINK | F_SEAL_GROW), so no side can truncate it under the other's
// mapping (SIGBUS) or grow it.
Status seal_size(int fd, const std::string& what);
// True if the size is sealed against shrinking (the seal an opener relies on).
Result<bool> size_sealed(int fd, const std::string& what);

// --- limits --------------------------------------------------------------------------------
// A numeric /proc/sys value by its sysctl name ("fs.mqueue.msgsize_max").
Result<uint64_t> read_sysctl(const std::string& name);
// The soft limit of a resource (RLIMIT_MSGQUEUE, ...); RLIM_INFINITY is UINT64_MAX.
Result<uint64_t> soft_rlimit(int resource, const char* resource_name);
// Bytes an unprivileged user may still allocate on the filesystem holding `path` (statvfs).
Result<uint64_t> fs_free_bytes(const std::string& path);
size_t page_size();

}  // namespace ipcb::sys

// --- limits and probes (harness/limits/limits.h, harness/limits/probe.h)
// ----------------------------------
namespace ipcb::sys {
// A /proc/sys value of several numbers ("kernel.sem": SEMMSL SEMMNS SEMOPM SEMMNI).
Result<std::vector<uint64_t>> read_sysctl_fields(const std::string& name);
// Writes a /proc/sys value (root only; used by tests that lower a limit and restore it).
Status write_sysctl(const std::string& name, const std::string& value);
// Soft and hard limit of a resource; RLIM_INFINITY is UINT64_MAX.
struct Rlimit {
  uint64_t soft = 0;
  uint64_t hard = 0;
};
Result<Rlimit> get_rlimit(int resource, const char* resource_name);
// Size and space left to an unprivileged user of the filesystem holding `path` (statvfs).
struct FsSpace {
  uint64_t size_bytes = 0;
  uint64_t free_bytes = 0;
};
Result<FsSpace> fs_space(const std::string& path);
// The whole of a (small) text file such as /proc/self/status.
Result<std::string> read_text_file(const std::string& path);
// The first line of a small text file (/proc, /sys) without its newline; empty if unreadable.
std::string read_first_line(const std::string& path);
// posix_fallocate(3): really allocates `len` bytes (on tmpfs: pages of memory). ENOSPC when the
// filesystem is full, ENOMEM when memory (or a memory cgroup) is.
Status allocate_file(int fd, off_t len, const std::string& what);
// fcntl(F_SETPIPE_SZ); returns the capacity the kernel chose (a power-of-two number of pages).
Result<size_t> set_pipe_size(int fd, size_t bytes);
// An anonymous private mapping, never touched here: reading it costs no memory (the zero page).
Result<Mapping> map_anonymous(size_t len, const std::string& what);
// semget(key, nsems, IPC_CREAT|IPC_EXCL|0600): a set of `nsems` semaphores.
Result<int> semget_create_set(key_t key, int nsems);
// mq_open(O_CREAT|O_EXCL|O_RDWR|O_NONBLOCK, 0600) that reports errno without advice text (the
// probe names the limit itself).
Result<Mq> mq_create_probe(const std::string& name, long maxmsg, long msgsize);
// msgrcv(IPC_NOWAIT|MSG_NOERROR) of the first message of type `type` (0: any), discarding its
// text. False if there is none.
Result<bool> msg_discard(int id, long type);
// The symbolic name of an errno value ("EINVAL").
std::string errno_name(int err);
// getuid(2): the real user (euid() above is the effective one).
uid_t real_uid();
// The names in a directory (without "." and "..").
Result<std::vector<std::string>> list_directory(const std::string& path);
}  // namespace ipcb::sys
