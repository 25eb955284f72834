// How one side of a shared-memory channel learns that the other side made progress.
//
// Each wait condition (ring has data, ring has space) owns a slot of kSlotBytes in the segment.
// All blocking waiters follow one protocol so they differ only in the primitive: the waiting
// side announces itself (a counter in the slot), re-checks the condition, then sleeps; the
// notifying side publishes its progress and calls the primitive's wake only when someone
// announced. Sleeping is done in slices so the `abort` flag is seen within ~10 ms.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "harness/sys/error.h"
#include "harness/transport/channel.h"

namespace ipcb {

// A non-owning reference to a `bool()` callable: no allocation, one indirect call.
class ReadyFn {
 public:
  template <typename F>
  ReadyFn(F& f) : obj_(&f), call_([](void* o) { return (*static_cast<F*>(o))(); }) {}  // NOLINT
  bool operator()() const { return call_(obj_); }

 private:
  void* obj_;
  bool (*call_)(void*);
};

class Waiter {
 public:
  static constexpr size_t kSlotBytes = 256;
  static constexpr uint64_t kSliceNs = 10'000'000;  // how often a sleeper looks at `abort`

  virtual ~Waiter() = default;
  // Called after every publish; wakes the other side if it is (about to be) asleep.
  virtual void notify() = 0;
  // Returns true once ready() is true, false if `abort` was raised and ready() is still false
  // (checked once more after the abort: a peer may answer and then exit).
  virtual Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) = 0;
  // How this waiter waits, for the results: "spin", "sleep" (polls with naps), "block".
  virtual const char* wait_mode() const = 0;
  // True when waiting is polling the condition and notify() does nothing (spin, yield, sleep):
  // a side may then publish without calling notify().
  virtual bool polls() const { return false; }
  // Descriptors the peer must inherit (eventfd); the creator writes their numbers in the slot.
  virtual std::vector<int> inherited_fds() const { return {}; }
};

// The protocol every blocking waiter follows, so they differ only in the primitive. The waiter
// announces itself (a seq_cst RMW waiters++), takes a token (`prepare`, e.g. the futex word),
// re-checks, then sleeps one slice (`sleep(token, deadline)` returns false on a primitive's error
// via Result). The notifier publishes its progress, then calls someone_announced() and wakes only
// when it is true.
//
// Why no wake-up is lost, without a standalone fence (which TSan cannot model): announce A and
// the notifier's check N are both read-modify-writes of `waiters`, so they are totally ordered in
// its modification order, and each reads the value just before it there.
//  - A before N: N reads a count that includes A's +1 (unless the waiter's matching -1 came
//    first, in which case that sleep is over already and its next round starts this case
//    analysis again), so the notifier wakes it.
//  - N before A: A reads N's value, or that of a later RMW (an RMW of any order continues N's
//    release sequence), so N (release) synchronizes with A (acquire). The publish is sequenced
//    before N, hence happens before the waiter's token and re-check, which therefore see it: the
//    waiter does not sleep (or FUTEX_WAIT returns at once on the changed word).
// acq_rel on both RMWs is what the proof uses; they are seq_cst to say "this is the Dekker pair"
// and cost the same (one `lock xadd` on x86, one LDADDAL on ARMv8.1). The -1 after waking needs
// no order: it only ever makes a later notifier skip a wake for a waiter that is awake.
template <typename Prepare, typename Sleep>
Result<bool> announce_then_sleep(std::atomic<uint32_t>& waiters, ReadyFn ready,
                                 const std::atomic<bool>& abort, Prepare&& prepare, Sleep&& sleep,
                                 uint64_t (*now)()) {
  for (;;) {
    if (ready()) return true;
    if (abort.load(std::memory_order_acquire))
      return ready();  // the peer may have answered, then exited
    // A (see above); a token taken after it sees every publish whose N came before it.
    waiters.fetch_add(1, std::memory_order_seq_cst);
    auto token = prepare();
    if (ready()) {
      waiters.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
    auto slept = sleep(token, now() + Waiter::kSliceNs);
    // Only this side waits on this condition, so while it sleeps the count holds its own
    // announcement: a count of 0 here was written by someone else, and the notifier, reading
    // it, stopped waking us (the run would crawl at one message per slice).
    if (waiters.fetch_sub(1, std::memory_order_relaxed) == 0) {
      return plain_error("waiter",
                         "corrupt waiter slot: the count of announced sleepers was reset "
                         "to 0 while this side slept (written by another process)");
    }
    if (!slept) return slept.error();
  }
}

// The notifier's half (N above): call after publishing; true when a waiter may be asleep. An RMW
// that adds nothing, not a load: the publish is a release store (Ring::commit), and a load after
// it, even a seq_cst one, may be satisfied before that store is visible (store-load reordering,
// which x86 does too); the RMW is what puts N in `waiters`' modification order.
inline bool someone_announced(std::atomic<uint32_t>& waiters) {
  return waiters.fetch_add(0, std::memory_order_seq_cst) != 0;
}

// The loop of the polling waiters (spin, yield): check, then `pause()`, until ready or aborted.
template <typename Pause>
Result<bool> poll_until(ReadyFn ready, const std::atomic<bool>& abort, Pause&& pause) {
  for (;;) {
    if (ready()) return true;
    if (abort.load(std::memory_order_acquire))
      return ready();  // the peer may have answered, then exited
    pause();
  }
}

// A waiter that polls with `Pause` (a stateless callable) between checks and whose notify() does
// nothing; `mode` is its wait_mode().
template <typename Pause>
class PollingWaiter final : public Waiter {
 public:
  explicit PollingWaiter(const char* mode) : mode_(mode) {}
  void notify() override {}
  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return poll_until(ready, abort, Pause());
  }
  const char* wait_mode() const override { return mode_; }
  bool polls() const override { return true; }

 private:
  const char* mode_;
};

template <typename Pause>
Result<std::unique_ptr<Waiter>> make_polling_waiter(const char* mode, Pause) {
  return std::unique_ptr<Waiter>(new PollingWaiter<Pause>(mode));
}

// The loop of every shared-memory channel operation: `attempt()` (a Result<std::optional<T>>,
// nullopt meaning "not now") until it yields a value, waiting on `w` for `ready` in between.
// A wait ended by `abort` with nothing ready is aborted_error(what).
template <typename Attempt, typename Ready>
auto attempt_or_wait(Waiter& w, const std::atomic<bool>& abort, const char* what, Attempt&& attempt,
                     Ready&& ready)
    -> Result<typename std::remove_cvref_t<decltype(attempt().value())>::value_type> {
  for (;;) {
    auto r = attempt();
    if (!r) return r.error();
    if (r.value()) return *r.value();
    IPCB_TRY(bool ok, w.wait(ready, abort));
    if (!ok) return aborted_error(what);
  }
}

// Makes the waiter W on `slot` seen as W's slot struct `Slot`: the creator first initialises the
// slot's primitive with `init(Slot*)` (a Status); then W(Slot*, creator) and, when `check`, its
// check() of what the slot holds (untrusted where the other side made it).
template <typename W, typename Slot, typename Init>
Result<std::unique_ptr<Waiter>> make_slot_waiter(std::byte* slot, bool creator, bool check,
                                                 Init&& init) {
  auto* s = reinterpret_cast<Slot*>(slot);
  if (creator) IPCB_TRY_STATUS(init(s));
  std::unique_ptr<W> w(new W(s, creator));
  if (check) IPCB_TRY_STATUS(w->check());
  return std::unique_ptr<Waiter>(std::move(w));
}

struct WaiterInfo {
  const char* name;
  const char* description;
  // Builds a waiter on `slot` (kSlotBytes, cache-line aligned, zeroed by the creator).
  // `creator` initialises the slot's primitive; the other side only uses it, and must treat
  // what it reads from the slot (keys, descriptor numbers) as untrusted. `config` carries the
  // tuning (sleep_ns, spin_ns).
  Result<std::unique_ptr<Waiter>> (*make)(std::byte* slot, bool creator,
                                          const ChannelConfig& config);
};

// Every shared-memory waiter, in the order `ipcbench list` shows them.
const std::vector<WaiterInfo>& waiters();
const WaiterInfo* find_waiter(const std::string& name);

}  // namespace ipcb
