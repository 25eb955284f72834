// Folders, whole files and this executable's place (see sys.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "harness/sys/sys.h"

namespace ipcb::sys {

bool path_accessible(const std::string& path, int mode) {
  return ::access(path.c_str(), mode) == 0;
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return errno_error("mkdir", path);
  return ok_status();
}

Status write_file_atomic(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (!fd) return fd.error();
  auto undo = [&](Error e) -> Status {
    fd->reset();
    ::unlink(tmp.c_str());
    return e;
  };
  auto st = write_full(fd->get(), std::as_bytes(std::span(text)), tmp);
  if (!st) return undo(st.error());
  if (::fsync(fd->get()) != 0) return undo(errno_error("fsync", tmp));
  if (::close(fd->release()) != 0) return undo(errno_error("close", tmp));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return undo(errno_error("rename", tmp));
  return ok_status();
}

std::string self_exe_dir() {
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return {};
  std::string bin(exe, static_cast<size_t>(n));
  bin.erase(bin.rfind('/'));
  return bin;
}

}  // namespace ipcb::sys
