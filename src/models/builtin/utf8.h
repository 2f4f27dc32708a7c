// Byte-level helpers shared by the builtin provider's text code. They treat
// text as UTF-8 without validating it: a malformed byte counts as a one-byte
// character, so every loop advances and no piece ever splits a well-formed
// multi-byte character.
#pragma once

#include <cstddef>
#include <string_view>

namespace basalt::models::builtin {

// Byte length (1..4) of the UTF-8 character starting at text[i]; 1 for a
// malformed or truncated sequence. Requires i < text.size().
inline size_t Utf8CharLength(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  size_t n = 1;
  if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  } else if (c >= 0xE0) {
    n = 3;
  } else if (c >= 0xC2 && c < 0xE0) {
    n = 2;
  }
  if (n == 1 || i + n > text.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

// ASCII letters and digits, plus every non-ASCII byte: non-English letters
// stay inside words (their punctuation does too — an accepted approximation).
inline bool IsWordByte(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// The longest prefix of `text` holding at most `max_chars` characters.
inline std::string_view Utf8Prefix(std::string_view text, size_t max_chars) {
  size_t i = 0;
  for (size_t n = 0; i < text.size() && n < max_chars; ++n) i += Utf8CharLength(text, i);
  return text.substr(0, i);
}

inline size_t Utf8Length(std::string_view text) {
  size_t n = 0;
  for (size_t i = 0; i < text.size(); i += Utf8CharLength(text, i)) ++n;
  return n;
}

}  // namespace basalt::models::builtin
