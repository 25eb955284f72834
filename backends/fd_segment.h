// A segment backed by a file descriptor (POSIX shm object or a regular file): shared by
// posix_shm and mmap_file, which differ only in how the name is made and removed.
#pragma once

#include "backends/segment.h"
#include "harness/sys/manifest.h"
#include "harness/sys/sys.h"

namespace ipcb {

// "" if `channels` channel segments for messages of `message_bytes`, all at once, fit the free
// space of the filesystem holding `dir` (statvfs), else the line naming it. No /dev/shm etc.:
// "" too (the create call will say what is wrong). `extra` is appended to the line.
std::string free_space_limit(const std::string& dir, size_t message_bytes, size_t channels,
                             bool deep, const std::string& extra = {});

class FdSegment final : public Segment {
 public:
  // `record` >= 0 marks the creator, which removes `name` (as `kind`) once.
  // Another process can truncate the object under the mapping: a fault inside it is guarded
  // (see manifest::guard_mapping) and fails the run instead of killing it.
  FdSegment(std::string name, manifest::Kind kind, sys::Mapping map, int record)
      : name_(std::move(name)), kind_(kind), map_(std::move(map)), record_(record) {
    manifest::guard_mapping(map_.data(), map_.size());
  }
  ~FdSegment() override {
    manifest::unguard_mapping(map_.data());
    map_.reset();
    (void)remove_name();
  }
  std::span<std::byte> bytes() override { return {map_.data(), map_.size()}; }
  std::string object() const override { return name_; }
  Status remove_name() override;

  // Creator: `fd` was just created exclusively as `name`; size it, map it, prefault it.
  static Result<std::unique_ptr<Segment>> finish_create(std::string name, manifest::Kind kind,
                                                        sys::Fd fd, size_t bytes, int record);
  // Opener: map an existing object of at least `bytes` bytes.
  static Result<std::unique_ptr<Segment>> finish_open(std::string name, manifest::Kind kind,
                                                      sys::Fd fd, size_t bytes);

 private:
  std::string name_;
  manifest::Kind kind_;
  sys::Mapping map_;
  int record_;
};

}  // namespace ipcb
