// A call under test run in a thread of its own, for tests of blocking calls: the thread publishes
// its tid just before the call, so a test can wait until the call sleeps in the kernel
// (wait_until_blocked), then act on it (signal, post, wake) and collect its result with a bounded
// wait. Nothing is timed by fixed sleeps.
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "suites/conformance/conform.h"

namespace ipcb::conform {

class BlockedCall {
 public:
  // Starts `call` in a new thread. `unblock` must make the call return (a post, a wake, a write);
  // the destructor runs it if the call is still blocked, so a failed test never hangs.
  BlockedCall(std::function<long()> call, std::function<void()> unblock)
      : state_(std::make_shared<State>()), unblock_(std::move(unblock)) {
    auto st = state_;
    thread_ = std::thread([st, call = std::move(call)] {
      st->tid.store(::gettid());
      long rc = call();
      int err = errno;
      std::lock_guard<std::mutex> lock(st->m);
      st->rc = rc;
      st->err = err;
      st->done = true;
      st->cv.notify_all();
    });
  }
  ~BlockedCall() {
    if (!returned(0) && unblock_) unblock_();
    thread_.join();
  }
  BlockedCall(const BlockedCall&) = delete;
  BlockedCall& operator=(const BlockedCall&) = delete;

  // The thread's id once it is about to make the call (waits up to 5 s); 0 if it never got there.
  pid_t tid() const {
    for (int i = 0; i < 5000 && state_->tid.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return state_->tid.load();
  }
  // True once the call sleeps in the kernel (waits up to `timeout_ms`).
  bool blocked(int timeout_ms = 5000) const {
    pid_t t = tid();
    return t != 0 && wait_until_blocked(t, timeout_ms);
  }
  // Sends `sig` to the calling thread; 0 or the error of pthread_kill.
  int signal(int sig) { return ::pthread_kill(thread_.native_handle(), sig); }
  // True if the call returned within `timeout_ms`.
  bool returned(int timeout_ms) const {
    std::unique_lock<std::mutex> lock(state_->m);
    return state_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                               [this] { return state_->done; });
  }
  // What the call returned and the errno after it (once returned() is true).
  long rc() const { return state_->rc; }
  int err() const { return state_->err; }

 private:
  struct State {
    std::atomic<pid_t> tid{0};
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    long rc = 0;
    int err = 0;
  };
  std::shared_ptr<State> state_;
  std::function<void()> unblock_;
  std::thread thread_;
};

}  // namespace ipcb::conform
