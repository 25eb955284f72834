// Names of an enum's values, for enums numbered 0, 1, 2... in order: one table of names, indexed
// by the value, serves both ways (value to name for output, name to value for parsing).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ipcb {

// names[value], or "?" for a value outside the table (a value cast from untrusted data).
template <typename E, size_t N>
constexpr const char* enum_name(E value, const char* const (&names)[N]) {
  const auto i = static_cast<size_t>(value);
  return i < N ? names[i] : "?";
}

// The value whose name is `name`, if any.
template <typename E, size_t N>
std::optional<E> enum_named(std::string_view name, const char* const (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace ipcb
