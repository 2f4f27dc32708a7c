// String helpers over Abseil's. Debian's Abseil is built with its own
// absl::string_view (not an alias of std::string_view), so std::string_view
// arguments must be converted before they reach absl::StrCat and friends;
// these wrappers do that so call sites can pass either.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace basalt {

inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

namespace strings_internal {
template <class T>
decltype(auto) Arg(const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view> && !std::is_same_v<T, std::string>) {
    std::string_view s = v;
    return absl::string_view(s.data(), s.size());
  } else {
    return (v);
  }
}
}  // namespace strings_internal

template <class... A>
std::string StrCat(const A&... args) {
  return absl::StrCat(strings_internal::Arg(args)...);
}

template <class... A>
void StrAppend(std::string* out, const A&... args) {
  absl::StrAppend(out, strings_internal::Arg(args)...);
}

// Glob match: '*' matches any run of characters, '?' any one character.
bool GlobMatch(std::string_view pattern, std::string_view text);

// The pieces joined with `sep` between them.
std::string StrJoin(const std::vector<std::string>& pieces, std::string_view sep);

// Splits on one character, keeping empty pieces. Pieces view into `text`.
std::vector<std::string_view> Split(std::string_view text, char sep);

}  // namespace basalt
