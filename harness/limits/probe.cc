// The probes (see probe.h): one bisection and one counting loop, and per mechanism the attempt
// that creates, checks and removes one object (SysV message queues: probe_msg.cc).
#include "harness/limits/probe.h"

#include <fcntl.h>
#include <sys/ipc.h>

#include <functional>
#include <vector>

#include "harness/limits/probe_detail.h"
#include "harness/sys/manifest.h"
#include "harness/sys/sys_kernel.h"
#include "harness/sys/sys_sync.h"

namespace ipcb::probe {
namespace detail {

bool past(const Budget& b) {
  return b.deadline_ns != 0 && sys::now_ns() > b.deadline_ns;
}

key_t random_key() {
  for (;;) {
    key_t k = static_cast<key_t>(sys::random_u32() & 0x7FFFFFFF);
    if (k != IPC_PRIVATE) return k;
  }
}

double seconds_since(uint64_t t0) {
  return static_cast<double>(sys::now_ns() - t0) / 1e9;
}

// The largest x in [lo, ceiling] accepted, assuming that what is accepted at x is accepted
// below it. Tries the ceiling first (one attempt when it fits), then bisects.
Found largest_accepted(uint64_t lo, uint64_t ceiling, const std::string& ceiling_reason,
                       const char* call, const Budget& b, const Attempt& attempt) {
  const uint64_t t0 = sys::now_ns();
  Found f;
  f.call = call;
  auto finish = [&](Found& out) -> Found {
    out.seconds = seconds_since(t0);
    return out;
  };
  if (ceiling < lo) ceiling = lo;
  if (past(b)) {
    f.error = "not run: the probes' time budget was spent";
    return finish(f);
  }
  auto top = attempt(ceiling);
  if (!top) {
    f.error = top.error().message();
    return finish(f);
  }
  if (*top == 0) {
    f.value = ceiling;
    f.capped = true;
    f.cap = ceiling_reason;
    return finish(f);
  }
  uint64_t hi = ceiling;
  int hi_err = *top;
  auto low = attempt(lo);
  if (!low) {
    f.error = low.error().message();
    return finish(f);
  }
  if (*low != 0) {
    f.err = *low;
    f.error =
        std::string(call) + " rejects even " + std::to_string(lo) + ": " + sys::errno_name(*low);
    return finish(f);
  }
  while (hi - lo > 1) {
    if (past(b)) {
      f.capped = true;
      f.cap = "the probes' time budget ran out mid-search";
      break;
    }
    uint64_t mid = lo + (hi - lo) / 2;
    auto r = attempt(mid);
    if (!r) {
      f.error = r.error().message();
      return finish(f);
    }
    if (*r == 0) {
      lo = mid;
    } else {
      hi = mid;
      hi_err = *r;
    }
  }
  f.value = lo;
  if (!f.capped) f.err = hi_err;
  return finish(f);
}

// Creates objects one by one, each held, until one is rejected or `cap` are held; then removes
// them all. `create` returns the held object, or the errno that rejected it.
using Create = std::function<Result<std::pair<std::optional<Recorded>, int>>()>;
}  // namespace detail

using namespace detail;

namespace {

Found count_accepted(int cap, const char* call, const Budget& b, const Create& create) {
  const uint64_t t0 = sys::now_ns();
  Found f;
  f.call = call;
  std::vector<Recorded> held;
  for (;;) {
    if (static_cast<int>(held.size()) >= cap) {
      f.capped = true;
      f.cap = "held " + std::to_string(cap) + " objects (the counting cap)";
      break;
    }
    if (past(b)) {
      f.capped = true;
      f.cap = "the probes' time budget ran out";
      break;
    }
    auto r = create();
    if (!r) {
      f.error = r.error().message();
      break;
    }
    if (!r->first) {
      f.err = r->second;
      break;
    }
    held.push_back(std::move(*r->first));
  }
  if (f.error.empty()) f.value = held.size();
  held.clear();  // removes every object
  f.seconds = seconds_since(t0);
  return f;
}

// One SysV object created by `make(key)` (an id or an errno), retried on key collisions.
template <typename Make>
Result<std::pair<std::optional<Recorded>, int>> create_sysv(manifest::Kind kind, Make&& make) {
  for (int draw = 0; draw < kKeyDraws; ++draw) {
    key_t key = random_key();
    IPCB_TRY(Recorded r, Recorded::make(kind, std::to_string(key)));
    Result<int> id = make(key);
    if (id) return std::pair<std::optional<Recorded>, int>(std::move(r), 0);
    r.forget();  // not created: the key may be someone else's
    if (id.error().err != EEXIST) {
      return std::pair<std::optional<Recorded>, int>(std::nullopt, id.error().err);
    }
  }
  return plain_error("probe", "every random SysV key drawn was taken");
}

// An attempt that creates one SysV object of size x and removes it.
template <typename Make>
Result<int> sysv_attempt(manifest::Kind kind, Make&& make) {
  IPCB_TRY(auto made, create_sysv(kind, make));
  return made.second;  // made.first (if any) removes the object here
}

std::string probe_name(const char* prefix) {
  return sys::owned_name(prefix);
}

// A POSIX queue of maxmsg x msgsize, created and removed; closes its descriptor at once.
Result<std::pair<std::optional<Recorded>, int>> create_queue(long maxmsg, long msgsize) {
  std::string name = probe_name("/ipcb-probe-");
  IPCB_TRY(Recorded r, Recorded::make(manifest::Kind::kPosixMq, name));
  auto q = sys::mq_create_probe(name, maxmsg, msgsize);
  if (!q) {
    r.forget();
    if (q.error().err == EEXIST) return q.error();  // 96 random bits: not a size limit
    return std::pair<std::optional<Recorded>, int>(std::nullopt, q.error().err);
  }
  return std::pair<std::optional<Recorded>, int>(std::move(r), 0);
}

}  // namespace

Found sysv_shm_max_segment_bytes(uint64_t ceiling, const std::string& why, const Budget& b) {
  return largest_accepted(1, ceiling, why, "shmget", b, [](uint64_t size) {
    return sysv_attempt(manifest::Kind::kSysvShm,
                        [&](key_t key) { return sys::shmget_create_excl(key, size); });
  });
}

Found sysv_shm_max_segments(const Budget& b) {
  const size_t page = sys::page_size();
  return count_accepted(b.max_objects, "shmget", b, [&] {
    return create_sysv(manifest::Kind::kSysvShm,
                       [&](key_t key) { return sys::shmget_create_excl(key, page); });
  });
}

Found posix_shm_max_bytes(uint64_t ceiling, const std::string& why, const Budget& b) {
  const uint64_t page = sys::page_size();
  Found f = largest_accepted(
      1, ceiling / page, why, "posix_fallocate", b, [&](uint64_t pages) -> Result<int> {
        std::string name = probe_name("/ipcbench-probe-");
        IPCB_TRY(Recorded r, Recorded::make(manifest::Kind::kPosixShm, name));
        auto fd = sys::shm_create_excl(name);
        if (!fd) {
          r.forget();
          return fd.error();
        }
        // The pages are freed when the name is removed (r) and the descriptor closed (fd).
        auto st = sys::allocate_file(fd->get(), static_cast<off_t>(pages * page), name);
        return st ? 0 : st.error().err;
      });
  if (f.value) *f.value *= page;
  return f;
}

Found posix_mq_max_msgsize(uint64_t ceiling, const std::string& why, const Budget& b) {
  return largest_accepted(1, ceiling, why, "mq_open", b, [](uint64_t size) -> Result<int> {
    IPCB_TRY(auto made, create_queue(1, static_cast<long>(size)));
    return made.second;
  });
}

Found posix_mq_max_maxmsg(uint64_t ceiling, const std::string& why, const Budget& b) {
  return largest_accepted(1, ceiling, why, "mq_open", b, [](uint64_t n) -> Result<int> {
    IPCB_TRY(auto made, create_queue(static_cast<long>(n), 1));
    return made.second;
  });
}

Found posix_mq_max_queues(const Budget& b) {
  return count_accepted(b.max_objects, "mq_open", b, [] { return create_queue(1, 1); });
}

Found pipe_max_size(uint64_t ceiling, const std::string& why, const Budget& b) {
  // Capacities are powers of two pages: search the exponent.
  const uint64_t page = sys::page_size();
  uint64_t top = 0;
  while ((page << (top + 1)) <= ceiling) ++top;
  Found f = largest_accepted(0, top, why, "fcntl(F_SETPIPE_SZ)", b, [&](uint64_t k) -> Result<int> {
    auto p = sys::make_pipe(O_CLOEXEC | O_NONBLOCK);
    if (!p) return p.error();
    auto set = sys::set_pipe_size(p->second.get(), page << k);
    return set ? 0 : set.error().err;
  });
  if (f.value) f.value = page << *f.value;
  return f;
}

Found pipe_capacity(uint64_t ceiling, const Budget& b) {
  const uint64_t t0 = sys::now_ns();
  Found f;
  f.call = "write";
  auto p = sys::make_pipe(O_CLOEXEC | O_NONBLOCK);
  if (!p) {
    f.error = p.error().message();
    return f;
  }
  if (auto cap = sys::pipe_capacity(p->second.get())) f.reference = *cap;
  std::vector<std::byte> chunk(sys::page_size());
  uint64_t held = 0;
  size_t want = chunk.size();
  while (want > 0) {
    if (held >= ceiling || past(b)) {
      f.capped = true;
      f.cap = held >= ceiling ? "--max-probe-bytes" : "the probes' time budget ran out";
      break;
    }
    auto n =
        sys::write_some(p->second.get(), std::span(chunk).first(want), {}, false, "probe pipe");
    if (!n) {
      f.error = n.error().message();
      return f;
    }
    if (!*n) {
      want /= 2;  // full for this size: smaller writes may still fit
      continue;
    }
    held += **n;
  }
  if (!f.capped) f.err = EAGAIN;
  f.value = held;
  f.seconds = seconds_since(t0);
  return f;
}

Found sysv_sem_max_nsems(uint64_t ceiling, const std::string& why, const Budget& b) {
  return largest_accepted(1, ceiling, why, "semget", b, [](uint64_t n) {
    return sysv_attempt(manifest::Kind::kSysvSem, [&](key_t key) {
      return sys::semget_create_set(key, static_cast<int>(n));
    });
  });
}

}  // namespace ipcb::probe
