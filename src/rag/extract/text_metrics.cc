#include "rag/extract/text_metrics.h"

#include <algorithm>
#include <vector>

#include "rag/extract/text_util.h"

namespace basalt::rag::extract {
namespace {

// Code points of valid UTF-8 (CleanUtf8 first for anything else).
std::vector<char32_t> CodePoints(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? b : b & (0x3F >> (len - 1));
    for (size_t k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

}  // namespace

std::string NormalizeWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (IsSpace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string RemoveWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!IsSpace(c)) out.push_back(c);
  }
  return out;
}

double CharacterErrorRate(std::string_view reference, std::string_view hypothesis) {
  const std::vector<char32_t> ref = CodePoints(CleanUtf8(NormalizeWhitespace(reference)));
  const std::vector<char32_t> hyp = CodePoints(CleanUtf8(NormalizeWhitespace(hypothesis)));
  if (ref.empty()) return hyp.empty() ? 0.0 : 1.0;
  // One row of the edit-distance table at a time.
  std::vector<size_t> row(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= ref.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (ref[i - 1] == hyp[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return static_cast<double>(row[hyp.size()]) / static_cast<double>(ref.size());
}

}  // namespace basalt::rag::extract
