// What kernel channels share: their sync strategies and the one wait loop they use,
//   block  blocking calls (a dead peer closes its end, or interrupt() removes the object),
//   poll   O_NONBLOCK + poll(2) in slices of kSliceMs,
//   busy   O_NONBLOCK + retry with a CPU pause.
// Every loop sees `abort` within one slice and tries once more after it (the peer may have
// answered and then exited), so no wait outlives the run's deadline.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "harness/transport/channel.h"

namespace ipcb {

enum class KernelSync { kBlock, kPoll, kBusy };

// T of an attempt returning Result<std::optional<T>>.
template <typename F>
using AttemptValue =
    typename std::remove_cvref_t<decltype(std::declval<F&>()().value())>::value_type;

// "fd:N[,M...]": the object of a channel whose peer inherits descriptors.
std::string fd_object(const std::vector<int>& fds);
// Parses exactly `count` descriptor numbers from an untrusted object. Numbers 0-2 (the peer's
// standard streams) are refused.
Result<std::vector<int>> parse_fd_object(const std::string& object, size_t count,
                                         const char* backend);

// block, poll, busy: the strategies of every descriptor-based kernel channel.
std::vector<std::string> kernel_syncs();
// Parses config.sync; an error naming the backend and its valid strategies if not in `valid`.
Result<KernelSync> parse_kernel_sync(const ChannelConfig& config,
                                     const std::vector<std::string>& valid, const char* backend);

// Fails, naming `backend`, with `why` (what a backend's size_limit said) unless it is empty.
Status check_size_limit(const std::string& why, const char* backend);

// The channel `ch` (just made with new) once its `step` (make, open, connect...) succeeded with
// `args`, as the `Base` the backend returns. On failure `ch` is deleted, and its destructor
// removes whatever the step made.
template <typename Base, typename Ch, typename... Args>
Result<std::unique_ptr<Base>> channel_after(Ch* ch, Status (Ch::*step)(Args...),
                                            std::type_identity_t<Args>... args) {
  std::unique_ptr<Ch> owned(ch);
  IPCB_TRY_STATUS((owned.get()->*step)(std::forward<Args>(args)...));
  return std::unique_ptr<Base>(std::move(owned));
}

class KernelWait {
 public:
  static constexpr int kSliceMs = 10;

  KernelWait(KernelSync sync, const std::atomic<bool>* abort)
      : sync_(sync), abort_(abort != nullptr ? abort : &kNever) {}
  KernelSync sync() const { return sync_; }
  bool nonblocking() const { return sync_ != KernelSync::kBlock; }
  bool aborted() const { return abort_->load(std::memory_order_relaxed); }

  // Calls attempt() (a Result<std::optional<T>>; nullopt: it would block) until it yields a
  // value. Between attempts: poll waits for `events` on `fd` up to one slice, busy pauses the
  // CPU, block does nothing (the attempt itself blocked, or timed out after one slice). Once
  // `abort` is seen, one more attempt, then aborted_error(what).
  template <typename F>
  auto until_done(F&& attempt, int fd, short events, const char* what) -> Result<AttemptValue<F>> {
    for (;;) {
      bool was_aborted = aborted();
      auto r = attempt();
      if (!r) return r.error();
      if (r.value()) return *r.value();
      if (was_aborted) return aborted_error(what);
      IPCB_TRY_STATUS(pause(fd, events));
    }
  }

 private:
  Status pause(int fd, short events);

  static const std::atomic<bool> kNever;
  KernelSync sync_;
  const std::atomic<bool>* abort_;
};

}  // namespace ipcb
