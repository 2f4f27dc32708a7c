#include "rag/index/text_tokens.h"

#include <cstdint>

namespace basalt::rag {
namespace {

// Decodes one UTF-8 character at text[*i], advancing *i; an invalid or cut
// sequence yields U+FFFD (a separator) and skips its first byte only.
char32_t NextCodePoint(std::string_view text, size_t* i) {
  const unsigned char lead = static_cast<unsigned char>(text[*i]);
  if (lead < 0x80) {
    ++*i;
    return lead;
  }
  size_t extra;
  char32_t cp;
  if ((lead & 0xE0) == 0xC0) {
    extra = 1;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2;
    cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3;
    cp = lead & 0x07;
  } else {
    ++*i;
    return 0xFFFD;
  }
  if (*i + extra >= text.size()) {
    ++*i;
    return 0xFFFD;
  }
  for (size_t k = 1; k <= extra; ++k) {
    const unsigned char next = static_cast<unsigned char>(text[*i + k]);
    if ((next & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (next & 0x3F);
  }
  *i += extra + 1;
  return cp;
}

bool IsWordChar(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  // Latin-1 punctuation and symbols, keeping the letters and numbers there
  // (ª ² ³ µ ¹ º ¼ ½ ¾).
  if (c <= 0xBF)
    return c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 || c == 0xB9 || c == 0xBA ||
           (c >= 0xBC && c <= 0xBE);
  if (c == 0xD7 || c == 0xF7) return false;      // × ÷
  if (c >= 0x2000 && c <= 0x206F) return false;  // general punctuation, spaces
  if (c >= 0x20A0 && c <= 0x20CF) return false;  // currency
  if (c >= 0x2190 && c <= 0x23FF) return false;  // arrows, maths, technical
  if (c >= 0x2500 && c <= 0x27BF) return false;  // box drawing, shapes, dingbats
  if (c >= 0x2E00 && c <= 0x2E7F) return false;  // supplemental punctuation
  if (c >= 0x3000 && c <= 0x3004) return false;  // CJK spaces and marks
  if (c >= 0x3008 && c <= 0x3020) return false;  // CJK brackets
  if (c >= 0xFE30 && c <= 0xFE4F) return false;  // CJK compatibility forms
  if (c >= 0xFF00 && c <= 0xFF0F) return false;  // fullwidth punctuation
  if (c >= 0xFF1A && c <= 0xFF20) return false;
  if (c >= 0xFF3B && c <= 0xFF40) return false;
  if (c >= 0xFF5B && c <= 0xFF65) return false;
  if (c == 0xFEFF || c == 0xFFFD) return false;    // BOM, invalid input
  if (c >= 0x1F000 && c <= 0x1FAFF) return false;  // emoji and pictographs
  return true;
}

}  // namespace

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t c = NextCodePoint(text, &i);
    if (!IsWordChar(c)) {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
      continue;
    }
    if (c < 0x80) {
      current.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c));
    } else {
      current.append(text.data() + start, i - start);
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

std::string MatchExpression(std::string_view text) {
  std::vector<std::string> words = Words(text);
  if (words.size() > kMaxQueryWords) words.resize(kMaxQueryWords);
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += " OR ";
    out += '"';
    for (char c : word) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out;
}

std::vector<std::string> IndexTerms(std::string_view text) {
  std::vector<std::string> terms = Words(text);
  for (std::string& term : terms) term = PorterStem(term);
  return terms;
}

}  // namespace basalt::rag
