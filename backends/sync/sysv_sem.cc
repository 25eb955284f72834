// sysv_sem waiter (see sysv_sem.h).
#include "backends/sync/sysv_sem.h"

#include <sys/ipc.h>

#include <cerrno>

#include "harness/sys/manifest.h"
#include "harness/sys/sys_sync.h"

namespace ipcb {
namespace {

struct SysvSemSlot {
  std::atomic<uint32_t> waiters;
  std::atomic<int32_t> key;  // written by the creator before the peer exists; untrusted
};
static_assert(sizeof(SysvSemSlot) <= Waiter::kSlotBytes, "the slot must fit its area");
static_assert(sizeof(key_t) == sizeof(int32_t), "the slot stores a key_t as 32 bits");

constexpr int kKeyAttempts = 8;  // a collision with another program's key: draw again

class SysvSemWaiter final : public Waiter {
 public:
  // `record` >= 0 marks the creator, which removes the set and forgets the record.
  SysvSemWaiter(SysvSemSlot* s, int id, int record) : s_(s), id_(id), record_(record) {}
  ~SysvSemWaiter() override {
    if (record_ < 0) return;
    (void)sys::sem_rmid(id_);  // nothing to report to in a destructor; clean finds leftovers
    manifest::release(record_);
  }

  void notify() override {
    // A failure (ERANGE at SEMVMX: counts left by posts to a waiter that was already awake)
    // still leaves the semaphore positive, so the waiter wakes anyway.
    if (someone_announced(s_->waiters)) (void)sys::sem_up(id_);
  }

  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return announce_then_sleep(
        s_->waiters, ready, abort, [] { return 0; },
        [&](int, uint64_t deadline) { return sys::sem_down_until(id_, deadline); }, sys::now_ns);
  }
  const char* wait_mode() const override { return "block"; }

 private:
  SysvSemSlot* s_;
  int id_;
  int record_;
};

Result<std::unique_ptr<Waiter>> create(SysvSemSlot* s) {
  for (int attempt = 0;; ++attempt) {
    key_t key = static_cast<key_t>(sys::random_u32() & 0x7FFFFFFF);
    if (key == IPC_PRIVATE) continue;
    IPCB_TRY(int record, manifest::record(manifest::Kind::kSysvSem, std::to_string(key)));
    auto id = sys::semget_create_excl(key);
    if (!id) {
      manifest::release(record);
      if (id.error().err == EEXIST && attempt + 1 < kKeyAttempts) continue;
      return id.error();
    }
    s->key.store(key, std::memory_order_relaxed);
    return std::unique_ptr<Waiter>(new SysvSemWaiter(s, *id, record));
  }
}

Result<std::unique_ptr<Waiter>> open(SysvSemSlot* s) {
  key_t key = s->key.load(std::memory_order_relaxed);
  if (key <= 0) {  // IPC_PRIVATE would *create* a set; negative keys are never ours
    return plain_error("sysv_sem",
                       "corrupt waiter slot: it holds no valid key (" + std::to_string(key) + ")");
  }
  auto found = sys::semget_existing(key);
  if (!found) {
    return plain_error("sysv_sem", "corrupt waiter slot: no semaphore set of ours has key " +
                                       std::to_string(key) + " (" + found.error().message() + ")");
  }
  int id = *found;
  IPCB_TRY(sys::SemSetInfo info, sys::sem_stat(id));
  uid_t me = sys::effective_uid();
  if (info.uid != me || info.cuid != me || info.mode != 0600 || info.nsems != 1) {
    return plain_error("sysv_sem", "corrupt waiter slot: the set of key " + std::to_string(key) +
                                       " is not one of ours (owner, creator, mode 0600 and one "
                                       "semaphore expected)");
  }
  return std::unique_ptr<Waiter>(new SysvSemWaiter(s, id, -1));
}

}  // namespace

Result<std::unique_ptr<Waiter>> make_sysv_sem_waiter(std::byte* slot, bool creator,
                                                     const ChannelConfig&) {
  auto* s = reinterpret_cast<SysvSemSlot*>(slot);
  return creator ? create(s) : open(s);
}

key_t sysv_sem_key(const std::byte* slot) {
  return reinterpret_cast<const SysvSemSlot*>(slot)->key.load(std::memory_order_relaxed);
}

}  // namespace ipcb
