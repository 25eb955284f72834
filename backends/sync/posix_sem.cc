// posix_sem waiter (see posix_sem.h).
#include "backends/sync/posix_sem.h"

#include <cstring>

#include "harness/sys/sys.h"

namespace ipcb {
namespace {

struct SemSlot {
  std::atomic<uint32_t> waiters;
  alignas(16) sem_t sem;
};
static_assert(sizeof(SemSlot) <= Waiter::kSlotBytes, "the slot must fit its area");

// glibc keeps, next to the count, a word that says which futex operation to use (private or
// shared) and passes it to the kernel as part of the operation code; a peer that writes garbage
// there makes the kernel refuse the operation, and glibc then aborts the process ("The futex
// facility returned an unexpected error code"). So that word is compared, before every call,
// with what sem_init(pshared) writes. The count itself may hold anything without harm.
// Trap: a peer that rewrites the word between the check and glibc's read (a window of a few
// instructions) is not caught; the abort handler then still removes every object.
constexpr size_t kFlagOffset = 8;  // new_sem { uint64 data; int private; int pad; } (x86-64)
static_assert(sizeof(sem_t) >= kFlagOffset + sizeof(int), "glibc's sem_t layout changed");

int flag_word(const sem_t* s) {
  int v;
  std::memcpy(&v, reinterpret_cast<const char*>(s) + kFlagOffset, sizeof v);
  return v;
}

int shared_flag_word() {
  static const int v = [] {
    sem_t s;
    std::memset(&s, 0, sizeof s);
    return sys::sem_init_shared(&s, 0) ? flag_word(&s) : -1;
  }();
  return v;
}

class PosixSemWaiter final : public Waiter {
 public:
  PosixSemWaiter(SemSlot* s, bool creator) : s_(s), creator_(creator) {}
  ~PosixSemWaiter() override {
    if (creator_) sys::sem_destroy_shared(&s_->sem);
  }

  Status check() const {
    int v = flag_word(&s_->sem);
    if (v == shared_flag_word()) return ok_status();
    return plain_error("posix_sem", "corrupt waiter slot: the semaphore's futex flag word is " +
                                        std::to_string(v) + ", not the " +
                                        std::to_string(shared_flag_word()) +
                                        " sem_init(pshared) writes (written by another process)");
  }

  void notify() override {
    if (!someone_announced(s_->waiters)) return;
    // A corrupt slot: no post (the waiter's slice ends and its own check reports it).
    if (check()) (void)sys::sem_post_shared(&s_->sem);
  }

  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return announce_then_sleep(
        s_->waiters, ready, abort, [] { return 0; },
        [&](int, uint64_t deadline) -> Result<bool> {
          IPCB_TRY_STATUS(check());
          return sys::sem_wait_until(&s_->sem, deadline);
        },
        sys::now_ns);
  }
  const char* wait_mode() const override { return "block"; }

 private:
  SemSlot* s_;
  bool creator_;
};

}  // namespace

Result<std::unique_ptr<Waiter>> make_posix_sem_waiter(std::byte* slot, bool creator,
                                                      const ChannelConfig&) {
  return make_slot_waiter<PosixSemWaiter, SemSlot>(
      slot, creator, /*check=*/true, [](SemSlot* s) { return sys::sem_init_shared(&s->sem, 0); });
}

}  // namespace ipcb
