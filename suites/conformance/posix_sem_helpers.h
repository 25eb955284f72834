// Helpers of the POSIX semaphore conformance tests (posix_sem*.cc): reading a value, a bounded
// wait, and an unnamed semaphore destroyed with its scope.
#pragma once

#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <future>

#include "suites/conformance/blocked_call.h"
#include "suites/conformance/conform.h"

namespace ipcb::conform {

// sem_getvalue(3) of `s`, or -1 if it failed.
inline int value_of(sem_t* s) {
  int v = -1;
  return ::sem_getvalue(s, &v) == 0 ? v : -1;
}

// sem_timedwait with a deadline `ms` from now: the waits of blocking tests never hang.
inline int wait_ms(sem_t* s, int ms = 5000) {
  timespec until = clock_in(CLOCK_REALTIME, ms);
  return ::sem_timedwait(s, &until);
}

// sem_wait(3) of `s` (with `timed`, wait_ms) in a thread of its own (blocked_call.h), which a
// post to `s` releases.
inline BlockedCall waiter_on(sem_t* s, bool timed = false) {
  return BlockedCall([s, timed]() -> long { return timed ? wait_ms(s) : ::sem_wait(s); },
                     [s] { ::sem_post(s); });
}

// Waits (wait_ms) on `s` in this thread while a forked child runs `poster(tid)`, `tid` being this
// thread's id: the child posts once it sees this thread asleep (wait_until_blocked). Expects the
// wait to succeed; returns how the child ended.
inline ChildResult wait_while_child_posts(sem_t* s, const std::function<int(pid_t)>& poster) {
  pid_t me = ::gettid();
  auto child = std::async(std::launch::async, [&poster, me] {
    return run_in_child([&poster, me] { return poster(me); });
  });
  int rc = wait_ms(s);
  int err = errno;
  ChildResult r = child.get();
  EXPECT_EQ(rc, 0) << std::strerror(err);
  return r;
}

// An unnamed semaphore (pshared 0) destroyed when the scope ends.
struct Local {
  sem_t s;
  int rc;
  explicit Local(unsigned value) : rc(::sem_init(&s, 0, value)) {}
  ~Local() {
    if (rc == 0) ::sem_destroy(&s);
  }
  Local(const Local&) = delete;
  Local& operator=(const Local&) = delete;
  bool ok() const { return rc == 0; }
};

}  // namespace ipcb::conform
