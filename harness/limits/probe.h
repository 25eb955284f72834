// Bounded probes of what the kernel really accepts. Each creates real objects (exclusively, mode
// 0600, unguessable names or keys, recorded in the manifest before creation), searches for the
// largest size or count accepted, and removes every object before it returns; SIGINT mid-probe
// removes them too (manifest::install_signal_handlers). A probe never holds more than
// Budget::max_bytes of memory (or commit) at once, nor more than Budget::max_objects objects, and
// stops at Budget::deadline_ns; a result that stopped at such a cap says so (capped) and is a
// lower bound. Sizes are searched by bisection, so a limit is found exactly (to the byte, page or
// power of two the kernel works in).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ipcb::probe {

struct Budget {
  uint64_t max_bytes = 256ull << 20;  // memory a probe may touch or commit at once
  int max_objects = 48;               // objects a counting probe may hold (the manifest has 64)
  uint64_t deadline_ns = 0;           // CLOCK_MONOTONIC; 0: no deadline
};

// What one probe found.
struct Found {
  std::optional<uint64_t> value;  // largest size or count accepted; empty if the probe failed
  bool capped = false;            // stopped at `cap` before any rejection: the limit is >= value
  std::string cap;                // why it stopped there
  int err = 0;                    // errno of the smallest rejected attempt (0 if capped)
  std::string call;               // the call that rejected it
  std::string error;              // set when the probe could not run: what went wrong
  std::optional<uint64_t> reference;  // a value the kernel reported alongside (F_GETPIPE_SZ)
  double seconds = 0;
};

// shmget(IPC_CREAT|IPC_EXCL) then IPC_RMID at once: touches no memory (bytes).
Found sysv_shm_max_segment_bytes(uint64_t ceiling, const std::string& ceiling_reason,
                                 const Budget& b);
// One-page segments held at once, up to b.max_objects.
Found sysv_shm_max_segments(const Budget& b);
// shm_open + posix_fallocate: pages really allocated (bytes, a multiple of the page size). The
// caller chooses a ceiling that can never fill memory or /dev/shm.
Found posix_shm_max_bytes(uint64_t ceiling, const std::string& ceiling_reason, const Budget& b);
// mq_open with mq_maxmsg 1: the largest mq_msgsize (bytes).
Found posix_mq_max_msgsize(uint64_t ceiling, const std::string& ceiling_reason, const Budget& b);
// mq_open with mq_msgsize 1: the largest mq_maxmsg.
Found posix_mq_max_maxmsg(uint64_t ceiling, const std::string& ceiling_reason, const Budget& b);
// Queues of one 1-byte message held at once (descriptors closed), up to b.max_objects.
Found posix_mq_max_queues(const Budget& b);
// msgsnd(IPC_NOWAIT) into a fresh queue: the largest message text accepted (bytes).
Found sysv_msg_max_message_bytes(uint64_t ceiling, const std::string& ceiling_reason,
                                 const Budget& b);
// Text bytes a fresh queue holds: filled with `message_bytes` messages, then the largest
// remainder that still fits.
Found sysv_msg_queue_bytes(uint64_t message_bytes, uint64_t ceiling,
                           const std::string& ceiling_reason, const Budget& b);
// fcntl(F_SETPIPE_SZ) on fresh pipes: the largest capacity granted (bytes, a power of two).
Found pipe_max_size(uint64_t ceiling, const std::string& ceiling_reason, const Budget& b);
// Bytes a default pipe takes (non-blocking writes) before EAGAIN; reference = F_GETPIPE_SZ.
Found pipe_capacity(uint64_t ceiling, const Budget& b);
// semget(IPC_CREAT|IPC_EXCL) then IPC_RMID: the largest set (semaphores).
Found sysv_sem_max_nsems(uint64_t ceiling, const std::string& ceiling_reason, const Budget& b);

}  // namespace ipcb::probe
