// Internal: the built-in entity matchers. Each looks at a Window of text and
// answers whether an entity starts at a given position and where it ends.
//
// Streaming safety rests on one rule: a matcher reads bytes after its start
// only through Window::At, which notes when it needed a byte the window does
// not have yet (a non-final window is the tail of a stream). The caller then
// treats that start as still open and holds those bytes back. Bytes before the
// start are read through Window::Before and never look further back than
// kMaxLookback, which the stream keeps as context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace basalt::guardrails::internal {

// Context bytes a matcher may read before its start (email local part: 65,
// secret-key keyword window: 64, boundary checks: 2).
inline constexpr size_t kMaxLookback = 96;

class Window {
 public:
  Window(std::string_view text, bool final) : text_(text), final_(final) {}
  // The byte at i, or -1 past the end (noting it when the window is not final).
  int At(size_t i) const {
    if (i < text_.size()) return static_cast<unsigned char>(text_[i]);
    if (!final_) hit_end_ = true;
    return -1;
  }
  // The byte before i, or -1 at the start.
  int Before(size_t i) const { return i == 0 ? -1 : static_cast<unsigned char>(text_[i - 1]); }
  std::string_view text() const { return text_; }
  size_t size() const { return text_.size(); }
  bool final() const { return final_; }
  bool hit_end() const { return hit_end_; }
  void ClearHitEnd() const { hit_end_ = false; }

 private:
  std::string_view text_;
  bool final_;
  mutable bool hit_end_ = false;
};

// Character classes, one table lookup each. Index c + 1 so that -1 (no byte) is valid.
enum CharClass : uint8_t {
  kDigitBit = 1,
  kUpperBit = 2,
  kLowerBit = 4,
  kHexBit = 8,
  kLocalBit = 16,  // email local part: [A-Za-z0-9._%+-]
  kB64Bit = 32,    // [A-Za-z0-9/+]
  kWordBit = 64,   // [A-Za-z0-9_] and bytes >= 0x80 (UTF-8 letters)
  kSpaceBit = 128,
};
struct CharTable {
  uint8_t bits[257] = {};
  constexpr CharTable() {
    for (int c = 0; c < 256; ++c) {
      uint8_t b = 0;
      const bool digit = c >= '0' && c <= '9', upper = c >= 'A' && c <= 'Z',
                 lower = c >= 'a' && c <= 'z';
      if (digit) b |= kDigitBit;
      if (upper) b |= kUpperBit;
      if (lower) b |= kLowerBit;
      if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) b |= kHexBit;
      if (digit || upper || lower || c == '.' || c == '_' || c == '%' || c == '+' || c == '-') {
        b |= kLocalBit;
      }
      if (digit || upper || lower || c == '/' || c == '+') b |= kB64Bit;
      if (digit || upper || lower || c == '_' || c >= 0x80) b |= kWordBit;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') b |= kSpaceBit;
      bits[c + 1] = b;
    }
  }
};
inline constexpr CharTable kChars;
inline uint8_t ClassOf(int c) { return kChars.bits[c + 1]; }

inline bool IsDigit(int c) { return ClassOf(c) & kDigitBit; }
inline bool IsUpper(int c) { return ClassOf(c) & kUpperBit; }
inline bool IsLower(int c) { return ClassOf(c) & kLowerBit; }
inline bool IsAlpha(int c) { return ClassOf(c) & (kUpperBit | kLowerBit); }
inline bool IsAlnum(int c) { return ClassOf(c) & (kDigitBit | kUpperBit | kLowerBit); }
inline bool IsHex(int c) { return ClassOf(c) & kHexBit; }
inline bool IsWord(int c) { return ClassOf(c) & kWordBit; }
inline bool IsSpace(int c) { return ClassOf(c) & kSpaceBit; }
inline int LowerAscii(int c) { return IsUpper(c) ? c + ('a' - 'A') : c; }
inline bool IsLocal(int c) { return ClassOf(c) & kLocalBit; }
inline bool IsB64(int c) { return ClassOf(c) & kB64Bit; }

// A number may start at i: not glued to a word, and not the tail of a longer
// number ("3.14", "12,345", "555-1234").
bool NumberMayStartAt(const Window& w, size_t i);

// Each returns the end of the entity starting at `begin`, or 0 when none does.
size_t MatchCard(const Window& w, size_t begin);
size_t MatchSsn(const Window& w, size_t begin);
size_t MatchPhone(const Window& w, size_t begin);
size_t MatchIban(const Window& w, size_t begin);
size_t MatchIpv4(const Window& w, size_t begin);
size_t MatchIpv6(const Window& w, size_t begin);
size_t MatchAwsAccessKey(const Window& w, size_t begin);
// `begin` starts a run of base64 characters.
size_t MatchAwsSecretKey(const Window& w, size_t begin);

// Email around the '@' at `at`: EmailLocalStart gives where the local part
// begins (npos when there is none); MatchEmail the end (0 when no email).
size_t EmailLocalStart(const Window& w, size_t at);
size_t MatchEmail(const Window& w, size_t local_start, size_t at);
// Longest email the matcher accepts.
inline constexpr size_t kMaxEmailBytes = 254;
inline constexpr size_t kMaxLocalBytes = 64;

bool LuhnValid(std::string_view digits);
bool IbanChecksumValid(std::string_view compact);  // mod-97 == 1

}  // namespace basalt::guardrails::internal
