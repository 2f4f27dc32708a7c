#include "models/builtin/tokenizer.h"

#include "models/builtin/utf8.h"

namespace basalt::models::builtin {
namespace {

constexpr size_t kCharsPerWordPiece = 4;

// Calls emit(begin, end) for each piece of `text`.
template <class Emit>
void ForEachToken(std::string_view text, Emit&& emit) {
  size_t i = 0;
  while (i < text.size()) {
    if (IsAsciiSpace(text[i])) {
      ++i;
    } else if (IsWordByte(text[i])) {
      size_t start = i;
      size_t chars = 0;
      while (i < text.size() && IsWordByte(text[i])) {
        i += Utf8CharLength(text, i);
        if (++chars == kCharsPerWordPiece) {
          emit(start, i);
          start = i;
          chars = 0;
        }
      }
      if (start < i) emit(start, i);
    } else {
      emit(i, i + 1);
      ++i;
    }
  }
}

}  // namespace

std::vector<TokenSpan> Tokenize(std::string_view text) {
  std::vector<TokenSpan> spans;
  ForEachToken(text, [&](size_t begin, size_t end) { spans.push_back({begin, end}); });
  return spans;
}

int64_t CountTokens(std::string_view text) {
  int64_t n = 0;
  ForEachToken(text, [&](size_t, size_t) { ++n; });
  return n;
}

}  // namespace basalt::models::builtin
