// sysv_shm segments (see sysv_shm.h).
#include "backends/sysv_shm.h"

#include <sys/ipc.h>
#include <cerrno>
#include <cstdlib>

#include "backends/shm_channel.h"
#include "harness/sys/manifest.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

class SysvSegment final : public Segment {
 public:
  SysvSegment(key_t key, int id, sys::Mapping map, int record)
      : key_(key), id_(id), map_(std::move(map)), record_(record) {}
  ~SysvSegment() override {
    map_.reset();
    (void)remove_name();
  }
  std::span<std::byte> bytes() override { return {map_.data(), map_.size()}; }
  std::string object() const override { return std::to_string(key_); }
  Status remove_name() override {
    if (record_ < 0 && id_ < 0) return ok_status();
    if (id_ >= 0 && record_ >= 0) IPCB_TRY_STATUS(sys::shm_rmid(id_));
    manifest::release(record_);
    record_ = -1;
    id_ = -1;
    return ok_status();
  }

 private:
  key_t key_;
  int id_;  // -1 for an opener, which never removes
  sys::Mapping map_;
  int record_;
};

Result<std::unique_ptr<Segment>> create(size_t bytes) {
  for (int attempt = 0;; ++attempt) {
    key_t key = static_cast<key_t>(sys::random_u32() & 0x7FFFFFFF);
    if (key == IPC_PRIVATE) continue;
    IPCB_TRY(int record, manifest::record(manifest::Kind::kSysvShm, std::to_string(key)));
    auto id = sys::shmget_create_excl(key, bytes);
    if (!id) {
      manifest::release(record);
      if (id.error().err == EEXIST && attempt < 8) continue;  // key collision: draw again
      return id.error();
    }
    auto map = sys::shm_attach(*id, "key " + std::to_string(key));
    if (!map) {
      (void)sys::shm_rmid(*id);
      manifest::release(record);
      return map.error();
    }
    auto faulted = sys::prefault({map->data(), map->size()}, "key " + std::to_string(key));
    if (!faulted) {
      map->reset();
      (void)sys::shm_rmid(*id);
      manifest::release(record);
      return faulted.error();
    }
    return std::unique_ptr<Segment>(new SysvSegment(key, *id, std::move(*map), record));
  }
}

Result<std::unique_ptr<Segment>> open(const std::string& object, size_t bytes) {
  char* end = nullptr;
  long parsed = std::strtol(object.c_str(), &end, 10);
  if (object.empty() || *end != '\0' || parsed <= 0 || parsed > 0x7FFFFFFF) {
    return plain_error("sysv_shm", "not a SysV key: '" + object + "'");
  }
  key_t key = static_cast<key_t>(parsed);
  IPCB_TRY(int id, sys::shmget_existing(key));
  IPCB_TRY(sys::Mapping map, sys::shm_attach(id, "key " + object));
  IPCB_TRY_STATUS(check_segment_size("key " + object, map.size(), bytes));
  IPCB_TRY_STATUS(sys::prefault({map.data(), map.size()}, "key " + object));
  return std::unique_ptr<Segment>(new SysvSegment(key, -1, std::move(map), -1));
}

}  // namespace

std::string sysv_shm_size_limit(size_t message_bytes, size_t channels, bool deep) {
  ChannelConfig c;
  c.message_bytes = message_bytes;
  c.deep = deep;
  const uint64_t bytes = shm_channel_bytes(c);
  const uint64_t page = sys::page_size();
  auto shmmax = sys::read_sysctl("kernel.shmmax");
  if (!shmmax) return shmmax.error().message();
  std::string segment = "segment of " + std::to_string(bytes) + " bytes";
  if (bytes > *shmmax) {
    return segment + " exceeds kernel.shmmax = " + std::to_string(*shmmax);
  }
  // shmall counts pages of every segment on the system; the run's own must fit at least.
  auto shmall = sys::read_sysctl("kernel.shmall");
  if (!shmall) return shmall.error().message();
  const uint64_t n = std::max<size_t>(channels, 1);
  if (n * ((bytes + page - 1) / page) > *shmall) {
    if (n > 1) {
      segment = std::to_string(n * bytes) + " bytes of " + std::to_string(n) + " segments (" +
                std::to_string(bytes) + " each)";
    }
    return segment + " exceeds kernel.shmall = " + std::to_string(*shmall) + " pages of " +
           std::to_string(page) + " bytes";
  }
  return {};
}

SegmentKind sysv_shm_segments() {
  return {create, open};
}

}  // namespace ipcb
