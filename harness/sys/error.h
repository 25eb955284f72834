// Error and Result<T>: how every failure travels up from a syscall to the user.
// An Error names the call, the object it acted on and errno's text, so a message is actionable.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ipcb {

struct Error {
  std::string call;    // e.g. "shmget", or "verify" for non-syscall failures
  std::string object;  // the name, key, path or fd the call acted on
  int err = 0;         // errno, 0 when not a syscall failure
  std::string detail;  // extra text: the limit that bounds it, how to raise it

  // "shmget(key 0x1234, 8388608 bytes): Invalid argument (errno 22); kernel.shmmax is ..."
  std::string message() const;
};

// Builds an Error from the current errno.
Error errno_error(std::string call, std::string object, std::string detail = {});
// Builds an Error that is not a syscall failure.
Error plain_error(std::string what, std::string detail = {});

// A value or an Error. Small on purpose: C++20 has no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  T* operator->() { return &std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

}  // namespace ipcb

// Propagates an error: `IPCB_TRY(auto x, make_thing());` or `IPCB_TRY_STATUS(do_thing());`
#define IPCB_CONCAT_INNER(a, b) a##b
#define IPCB_CONCAT(a, b) IPCB_CONCAT_INNER(a, b)
#define IPCB_TRY(decl, expr)                                                          \
  auto IPCB_CONCAT(ipcb_r_, __LINE__) = (expr);                                       \
  if (!IPCB_CONCAT(ipcb_r_, __LINE__)) return IPCB_CONCAT(ipcb_r_, __LINE__).error(); \
  decl = std::move(IPCB_CONCAT(ipcb_r_, __LINE__)).value()
#define IPCB_TRY_STATUS(expr)             \
  do {                                    \
    auto ipcb_s_ = (expr);                \
    if (!ipcb_s_) return ipcb_s_.error(); \
  } while (0)
