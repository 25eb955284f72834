// Each probed value against what the configured values predict for this process (see
// limits.h): which limit bounds it, and why the two differ when they do (privilege, shmall,
// RLIMIT_MSGQUEUE, memory accounting, objects that already exist). One function per probe,
// looked up in a table.
#include <cerrno>

#include "harness/limits/limits.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb::limits {
namespace {

constexpr uint64_t kHardMsgsizeMax = 16u << 20;  // HARD_MSGSIZEMAX (ipc/mqueue.c)
constexpr uint64_t kHardMsgMax = 65536;          // HARD_MSGMAX

uint64_t val(const Configured& c, const std::string& key) {
  return c.get(key).value_or(0);
}

std::string eq(const std::string& name, uint64_t v) {
  return name + " = " + std::to_string(v);
}

uint64_t sat_sub(uint64_t a, uint64_t b) {
  return a > b ? a - b : 0;
}

uint64_t sat_mul(uint64_t a, uint64_t b) {
  return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

void bound(Probe& p, std::string limit, std::string detail) {
  p.limit = std::move(limit);
  p.limit_detail = std::move(detail);
}

const char* const kPrivilegeNote =
    " ipcbench's backend keeps to the configured value, so root and users measure the same.";

void memory_bound(const Configured& c, Probe& p) {
  std::string d = "memory (MemAvailable = " + std::to_string(val(c, "memory:available_bytes"));
  if (auto cg = c.get("memory:cgroup_free_bytes"))
    d += ", memory cgroup room = " + std::to_string(*cg);
  bound(p, "memory", d + ")");
}

void sysv_shm_bytes(const Configured& c, Probe& p) {
  const uint64_t shmmax = val(c, "kernel.shmmax"), shmall = val(c, "kernel.shmall");
  const uint64_t used = val(c, "in_use:sysv_shm_pages");
  const uint64_t by_all = sat_mul(sat_sub(shmall, used), sys::page_size());
  p.expected = std::min(shmmax, by_all);
  std::string all_text = eq("kernel.shmall", shmall) + " pages" +
                         (used ? " less " + std::to_string(used) + " pages in use" : "");
  if (by_all < shmmax) {
    p.why = all_text + " bounds a segment below " + eq("kernel.shmmax", shmmax) + ".";
  }
  const uint64_t mode = val(c, "vm.overcommit_memory");
  switch (p.found.err) {
    case EINVAL:
      bound(p, "kernel.shmmax", eq("kernel.shmmax", shmmax));
      break;
    case ENOSPC:
      bound(p, "kernel.shmall", all_text);
      break;
    case ENOMEM:
      bound(p, "memory accounting",
            "memory accounting (" + eq("vm.overcommit_memory", mode) +
                (mode == 2 ? ": CommitLimit)"
                           : ": one segment may not exceed RAM + swap = " +
                                 std::to_string(val(c, "memory:ram_swap_bytes")) + ")"));
      p.why = "the configured " + eq("kernel.shmmax", shmmax) +
              " cannot be reached here: shmget refuses a segment the machine could never back.";
      break;
  }
}

void sysv_shm_count(const Configured& c, Probe& p) {
  const uint64_t in_use = val(c, "in_use:sysv_shm_segments");
  p.expected = sat_sub(val(c, "kernel.shmmni"), in_use);
  if (p.found.err == ENOSPC) {
    bound(p, "kernel.shmmni",
          eq("kernel.shmmni", val(c, "kernel.shmmni")) + " less " + std::to_string(in_use) +
              " segments that exist");
  }
}

void posix_shm_bytes(const Configured& c, Probe& p) {
  const uint64_t free = val(c, "/dev/shm:free_bytes");
  p.expected = free;
  if (p.found.err == ENOSPC) {
    bound(p, "/dev/shm size",
          "the size of /dev/shm = " + std::to_string(val(c, "/dev/shm:size_bytes")));
  } else if (p.found.err == ENOMEM) {
    memory_bound(c, p);
  } else if (p.found.err == EFBIG) {
    bound(p, "RLIMIT_FSIZE", "RLIMIT_FSIZE (ulimit -f)");
  }
  if (p.found.value && !p.found.capped && p.found.error.empty()) {
    uint64_t slack = std::max<uint64_t>(free / 100, 16 * sys::page_size());
    if (*p.found.value + slack >= free) {
      p.expected = *p.found.value;  // /dev/shm is shared: its free space moves a little
    } else {
      p.why = "statvfs reports " + std::to_string(free) +
              " bytes free on /dev/shm, but no more than this could really be allocated: " +
              (p.limit_detail.empty() ? sys::errno_name(p.found.err) : p.limit_detail) + ".";
    }
  }
}

// fs.mqueue.msgsize_max and fs.mqueue.msg_max: the same rules, different names.
void posix_mq_attr(const Configured& c, Probe& p, const char* sysctl, const char* hard_name,
                   uint64_t hard) {
  const uint64_t cfg = val(c, sysctl);
  const bool priv = c.privilege.cap_sys_resource;
  const uint64_t rl = val(c, "RLIMIT_MSGQUEUE:soft");
  p.expected = cfg;
  std::string rl_text = eq("RLIMIT_MSGQUEUE", rl) + " (ulimit -q)";
  switch (p.found.err) {
    case EINVAL:
      if (priv) {
        bound(p, hard_name,
              eq(hard_name, hard) + " (the kernel's maximum for privileged processes)");
      } else {
        bound(p, sysctl, eq(sysctl, cfg));
      }
      break;
    case EMFILE:
      bound(p, "RLIMIT_MSGQUEUE", rl_text);
      break;
    case ENOMEM:
      memory_bound(c, p);
      break;
  }
  if (!p.found.value || p.found.capped) return;
  const uint64_t v = *p.found.value;
  if (priv && v > cfg) {
    p.why = std::string("CAP_SYS_RESOURCE lets this process exceed ") + eq(sysctl, cfg) +
            ", up to " + eq(hard_name, hard) + "; here " + p.limit_detail +
            " bounds it (a queue's mq_maxmsg x mq_msgsize plus bookkeeping is charged to the "
            "user)." +
            kPrivilegeNote;
  } else if (priv && v == cfg) {
    p.why = std::string("CapEff has CAP_SYS_RESOURCE, yet ") + sysctl +
            " held: the capability is not effective in this IPC namespace's user namespace.";
  } else if (v < cfg && p.found.err == EMFILE) {
    p.why = rl_text +
            " caps the bytes of this user's queues (mq_maxmsg x mq_msgsize plus bookkeeping, "
            "queues other programs hold included) below " +
            eq(sysctl, cfg) + ".";
  }
}

void posix_mq_msgsize(const Configured& c, Probe& p) {
  posix_mq_attr(c, p, "fs.mqueue.msgsize_max", "HARD_MSGSIZEMAX", kHardMsgsizeMax);
}

void posix_mq_maxmsg(const Configured& c, Probe& p) {
  posix_mq_attr(c, p, "fs.mqueue.msg_max", "HARD_MSGMAX", kHardMsgMax);
}

void posix_mq_queues(const Configured& c, Probe& p) {
  const uint64_t in_use = val(c, "in_use:posix_mq_queues");
  const uint64_t qmax = val(c, "fs.mqueue.queues_max");
  p.expected = sat_sub(qmax, in_use);
  if (p.found.err == ENOSPC) {
    bound(p, "fs.mqueue.queues_max",
          eq("fs.mqueue.queues_max", qmax) +
              (c.mqueue_mounted ? " less " + std::to_string(in_use) + " queues that exist" : ""));
  } else if (p.found.err == EMFILE) {
    bound(p, "RLIMIT_MSGQUEUE",
          eq("RLIMIT_MSGQUEUE", val(c, "RLIMIT_MSGQUEUE:soft")) + " (ulimit -q) or " +
              eq("RLIMIT_NOFILE", val(c, "RLIMIT_NOFILE:soft")));
  }
  if (c.privilege.cap_sys_resource) {
    p.why = "CAP_SYS_RESOURCE lets this process exceed fs.mqueue.queues_max.";
    p.expected.reset();
  }
}

void sysv_msg_bytes(const Configured& c, Probe& p) {
  const uint64_t msgmax = val(c, "kernel.msgmax"), msgmnb = val(c, "kernel.msgmnb");
  p.expected = std::min(msgmax, msgmnb);
  if (p.found.err == EINVAL) bound(p, "kernel.msgmax", eq("kernel.msgmax", msgmax));
  if (p.found.err == EAGAIN) {
    bound(p, "kernel.msgmnb", eq("kernel.msgmnb", msgmnb) + " (a new queue's msg_qbytes)");
  }
  if (msgmnb < msgmax) {
    p.why = eq("kernel.msgmnb", msgmnb) + " bounds a message below " + eq("kernel.msgmax", msgmax) +
            ": a message larger than its queue can never be sent.";
  }
}

void sysv_msg_queue(const Configured& c, Probe& p) {
  const uint64_t msgmnb = val(c, "kernel.msgmnb");
  p.expected = msgmnb;
  if (p.found.err == EAGAIN) {
    bound(p, "kernel.msgmnb", eq("kernel.msgmnb", msgmnb) + " (a new queue's msg_qbytes)");
  }
}

void pipe_size(const Configured& c, Probe& p) {
  const uint64_t cfg = val(c, "fs.pipe-max-size");
  p.expected = cfg;
  switch (p.found.err) {
    case EPERM:
      bound(p, "fs.pipe-max-size",
            eq("fs.pipe-max-size", cfg) + " (or this user's pipes passed " +
                eq("fs.pipe-user-pages-soft", val(c, "fs.pipe-user-pages-soft")) + " pages)");
      break;
    case ENOMEM:
      bound(p, "kernel allocation", "the kernel's one allocation of the pipe's slot array");
      break;
    case EINVAL:
      bound(p, "2G", "2G, the kernel's largest pipe");
      break;
  }
  if (p.found.value && *p.found.value > cfg && c.privilege.cap_sys_resource) {
    p.why = "CAP_SYS_RESOURCE lets F_SETPIPE_SZ exceed " + eq("fs.pipe-max-size", cfg) +
            (p.found.capped ? "." : "; here " + p.limit_detail + " bounds it.");
  }
}

void pipe_capacity(const Configured& c, Probe& p) {
  p.expected = p.found.reference;
  if (p.found.err == EAGAIN && p.found.reference) {
    bound(p, "pipe capacity",
          "a new pipe's capacity (F_GETPIPE_SZ) = " + std::to_string(*p.found.reference));
  }
  if (p.found.reference && *p.found.reference < 16 * val(c, "page_size")) {
    p.why =
        "new pipes get 2 pages once a user's pipes hold more than fs.pipe-user-pages-soft "
        "pages.";
  }
}

void sysv_sem_nsems(const Configured& c, Probe& p) {
  const uint64_t semmsl = val(c, "kernel.sem:semmsl"), semmns = val(c, "kernel.sem:semmns");
  const uint64_t used = val(c, "in_use:sysv_sems");
  p.expected = std::min(semmsl, sat_sub(semmns, used));
  if (p.found.err == EINVAL) bound(p, "kernel.sem SEMMSL", eq("kernel.sem SEMMSL", semmsl));
  if (p.found.err == ENOSPC) {
    bound(p, "kernel.sem SEMMNS",
          eq("kernel.sem SEMMNS", semmns) + " less " + std::to_string(used) + " in use");
  }
  if (p.found.err == ENOMEM) memory_bound(c, p);
}

struct Row {
  const char* key;
  void (*check)(const Configured&, Probe&);
};
const Row kChecks[] = {
    {"probed.sysv_shm.max_segment_bytes", sysv_shm_bytes},
    {"probed.sysv_shm.max_segments", sysv_shm_count},
    {"probed.posix_shm.max_bytes", posix_shm_bytes},
    {"probed.posix_mq.max_msgsize", posix_mq_msgsize},
    {"probed.posix_mq.max_maxmsg", posix_mq_maxmsg},
    {"probed.posix_mq.max_queues", posix_mq_queues},
    {"probed.sysv_msg.max_message_bytes", sysv_msg_bytes},
    {"probed.sysv_msg.queue_bytes", sysv_msg_queue},
    {"probed.pipe.max_size", pipe_size},
    {"probed.pipe.capacity", pipe_capacity},
    {"probed.sysv_sem.max_nsems", sysv_sem_nsems},
};

}  // namespace

void check(const Configured& c, Probe& p) {
  for (const auto& row : kChecks) {
    if (p.key == row.key) row.check(c, p);
  }
  const probe::Found& f = p.found;
  if (!f.error.empty() || !f.value) {
    p.agrees = false;
    if (p.why.empty()) p.why = f.error;
    return;
  }
  if (f.capped) {
    p.limit.clear();
    p.limit_detail.clear();
    p.agrees = !p.expected || *f.value <= *p.expected;
  } else {
    p.agrees = !p.expected || *f.value == *p.expected;
  }
  if (!p.agrees && p.why.empty()) {
    p.why = "the configured values predict " + std::to_string(*p.expected) +
            (p.limit_detail.empty() ? "" : "; bound by " + p.limit_detail) + ".";
  }
}

}  // namespace ipcb::limits
