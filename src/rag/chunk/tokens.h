// Internal to chunk/: the builtin tokenizer's pieces (models/builtin/tokenizer.h)
// scanned in place. NextToken yields exactly Tokenize's spans and CountTokens
// here returns exactly models::builtin::CountTokens; tokens_test.cc and
// fuzz/chunk_fuzz.cc check both against the originals. They exist because
// chunking counts every byte of every document: a table-driven scan with an
// ASCII fast path counts about twice as fast as the general loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "models/builtin/tokenizer.h"
#include "models/builtin/utf8.h"

namespace basalt::rag::chunk_internal {

enum class ByteClass : uint8_t { kSpace, kWord, kAsciiWord, kOther };

// models/builtin/utf8.h's IsAsciiSpace and IsWordByte as a table (they are
// not constexpr; tokens_test.cc checks the table against them).
inline constexpr std::array<ByteClass, 256> kByteClass = [] {
  std::array<ByteClass, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      t[c] = ByteClass::kSpace;
    } else if (c >= 0x80) {
      t[c] = ByteClass::kWord;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      t[c] = ByteClass::kAsciiWord;
    } else {
      t[c] = ByteClass::kOther;
    }
  }
  return t;
}();

inline ByteClass ClassOf(char c) { return kByteClass[static_cast<unsigned char>(c)]; }

// The first token at or after `pos` in `text`, which must start at a token
// boundary (as Tokenize would restart there); false when only whitespace is left.
inline bool NextToken(std::string_view text, size_t pos, models::builtin::TokenSpan* out) {
  const size_t n = text.size();
  while (pos < n && ClassOf(text[pos]) == ByteClass::kSpace) ++pos;
  if (pos == n) return false;
  const size_t begin = pos;
  if (ClassOf(text[pos]) == ByteClass::kOther) {
    *out = {begin, pos + 1};
    return true;
  }
  // A word piece: up to 4 characters of word bytes.
  for (int chars = 0; chars < 4 && pos < n; ++chars) {
    const ByteClass c = ClassOf(text[pos]);
    if (c == ByteClass::kAsciiWord) {
      ++pos;
    } else if (c == ByteClass::kWord) {
      pos += models::builtin::Utf8CharLength(text, pos);
    } else {
      break;
    }
  }
  *out = {begin, pos};
  return true;
}

// models::builtin::CountTokens(text), faster: ASCII runs of 16 bytes go
// through a branch-free loop. A word byte starts a token when it is at a
// multiple of 4 characters into its word; `run` counts those characters.
inline int64_t CountTokens(std::string_view text) {
  const size_t n = text.size();
  const char* p = text.data();
  int64_t tokens = 0;
  uint32_t run = 0;
  size_t i = 0;
  while (i < n) {
    if (i + 16 <= n) {
      uint64_t a;
      uint64_t b;
      std::memcpy(&a, p + i, 8);
      std::memcpy(&b, p + i + 8, 8);
      if (((a | b) & 0x8080808080808080ull) == 0) {
        for (size_t k = 0; k < 16; ++k) {
          const ByteClass c = ClassOf(p[i + k]);
          const uint32_t word = c == ByteClass::kAsciiWord;
          tokens += (word & ((run & 3) == 0)) | (c == ByteClass::kOther);
          run = (run + 1) * word;
        }
        i += 16;
        continue;
      }
    }
    const ByteClass c = ClassOf(p[i]);
    if (c == ByteClass::kAsciiWord || c == ByteClass::kWord) {
      tokens += (run & 3) == 0;
      ++run;
      i += c == ByteClass::kWord ? models::builtin::Utf8CharLength(text, i) : 1;
    } else {
      tokens += c == ByteClass::kOther;
      run = 0;
      ++i;
    }
  }
  return tokens;
}

}  // namespace basalt::rag::chunk_internal
