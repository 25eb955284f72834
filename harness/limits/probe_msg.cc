// The SysV message queue probes (see probe.h): the largest message and the bytes a queue takes.
#include <sys/ipc.h>

#include <cerrno>
#include <optional>

#include "harness/limits/probe.h"
#include "harness/limits/probe_detail.h"
#include "harness/sys/sys_kernel.h"
#include "harness/sys/sys_sync.h"

namespace ipcb::probe {

using namespace detail;

namespace {

// A fresh SysV message queue, removed when `r` goes.
struct Queue {
  std::optional<Recorded> r;
  int id = -1;
};

Result<Queue> make_queue() {
  for (int draw = 0; draw < kKeyDraws; ++draw) {
    key_t key = random_key();
    IPCB_TRY(Recorded r, Recorded::make(manifest::Kind::kSysvMsg, std::to_string(key)));
    auto id = sys::msgget_create_excl(key);
    if (id) return Queue{std::move(r), *id};
    r.forget();
    if (id.error().err != EEXIST) return id.error();
  }
  return plain_error("probe", "every random SysV key drawn was taken");
}

// msgsnd(IPC_NOWAIT) of `text` bytes of `buf` (mtype set by the caller): 0, or the errno;
// a full queue is EAGAIN.
Result<int> send_text(int id, const sys::Mapping& buf, uint64_t text) {
  auto sent = sys::msg_send(id, buf.data(), text, /*nowait=*/true);
  if (!sent) return sent.error().err;
  return *sent ? 0 : EAGAIN;
}

void set_type(const sys::Mapping& buf, long type) {
  *reinterpret_cast<long*>(buf.data()) = type;
}

}  // namespace

Found sysv_msg_max_message_bytes(uint64_t ceiling, const std::string& why, const Budget& b) {
  Found f;
  f.call = "msgsnd";
  auto q = make_queue();
  if (!q) {
    f.error = q.error().message();
    return f;
  }
  // The text comes from an untouched anonymous mapping: the kernel copies zero pages.
  auto buf = sys::map_anonymous(sizeof(long) + ceiling, "msgsnd buffer");
  if (!buf) {
    f.error = buf.error().message();
    return f;
  }
  set_type(*buf, 1);
  return largest_accepted(1, ceiling, why, "msgsnd", b, [&](uint64_t text) -> Result<int> {
    IPCB_TRY(int err, send_text(q->id, *buf, text));
    if (err == 0) IPCB_TRY_STATUS(sys::msg_discard(q->id, 0));
    return err;
  });
}

Found sysv_msg_queue_bytes(uint64_t message_bytes, uint64_t ceiling, const std::string& why,
                           const Budget& b) {
  const uint64_t t0 = sys::now_ns();
  Found f;
  f.call = "msgsnd";
  auto q = make_queue();
  auto buf = sys::map_anonymous(sizeof(long) + message_bytes, "msgsnd buffer");
  if (!q || !buf) {
    f.error = !q ? q.error().message() : buf.error().message();
    return f;
  }
  // Fill with whole messages of type 1...
  set_type(*buf, 1);
  uint64_t held = 0;
  for (;;) {
    if (held + message_bytes > ceiling || past(b)) {
      f.value = held;
      f.capped = true;
      f.cap = past(b) ? "the probes' time budget ran out" : why;
      f.seconds = seconds_since(t0);
      return f;
    }
    auto err = send_text(q->id, *buf, message_bytes);
    if (!err) {
      f.error = err.error().message();
      return f;
    }
    if (*err != 0) {
      f.err = *err;
      break;
    }
    held += message_bytes;
  }
  // ...then the largest remainder that still fits, as messages of type 2 taken back each time.
  set_type(*buf, 2);
  uint64_t lo = 0, hi = message_bytes;
  while (hi - lo > 1 && !past(b)) {
    uint64_t mid = lo + (hi - lo) / 2;
    auto err = send_text(q->id, *buf, mid);
    if (!err) {
      f.error = err.error().message();
      return f;
    }
    if (*err == 0) {
      lo = mid;
      (void)sys::msg_discard(q->id, 2);
    } else {
      hi = mid;
    }
  }
  f.value = held + lo;
  f.seconds = seconds_since(t0);
  return f;
}

}  // namespace ipcb::probe
