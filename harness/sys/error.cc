// Formatting of Error values.
#include "harness/sys/error.h"

#include <cerrno>
#include <cstring>

namespace ipcb {

std::string Error::message() const {
  std::string m = call;
  if (!object.empty()) m += "(" + object + ")";
  if (err != 0) {
    m += ": ";
    m += std::strerror(err);
    m += " (errno " + std::to_string(err) + ")";
  }
  if (!detail.empty()) m += (err != 0 ? "; " : ": ") + detail;
  return m;
}

Error errno_error(std::string call, std::string object, std::string detail) {
  return Error{std::move(call), std::move(object), errno, std::move(detail)};
}

Error plain_error(std::string what, std::string detail) {
  return Error{std::move(what), {}, 0, std::move(detail)};
}

}  // namespace ipcb
