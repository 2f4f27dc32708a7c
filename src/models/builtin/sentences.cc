#include "models/builtin/sentences.h"

#include <algorithm>
#include <array>
#include <string>

#include "models/builtin/utf8.h"

namespace basalt::models::builtin {
namespace {

// Lowercase abbreviations (without their final '.') that do not end a
// sentence. Sorted, for binary search.
constexpr std::array<std::string_view, 38> kAbbreviations = {
    "al",  "approx", "apr", "aug",  "ave", "co",  "corp", "dec", "dept", "dr",  "est", "etc", "feb",
    "fig", "gen",    "inc", "jan",  "jr",  "jul", "jun",  "ltd", "mar",  "mr",  "mrs", "ms",  "mt",
    "no",  "nov",    "oct", "prof", "rev", "sep", "sept", "sr",  "st",   "vol", "vs",  "wt"};
static_assert(std::ranges::is_sorted(kAbbreviations));

bool IsCloser(char c) { return c == '"' || c == '\'' || c == ')' || c == ']'; }
bool IsEnder(char c) { return c == '.' || c == '!' || c == '?'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Whether the '.' at line[dot] ends an abbreviation, initial or list number
// rather than a sentence.
bool EndsAbbreviation(std::string_view line, size_t dot) {
  size_t start = dot;
  while (start > 0 && (IsWordByte(line[start - 1]) || line[start - 1] == '.')) --start;
  const std::string_view word = line.substr(start, dot - start);
  if (word.empty()) return false;
  if (word.find('.') != std::string_view::npos) return true;  // "e.g", "U.S"
  const bool letters_only = std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
  if (letters_only && word.size() == 1) return true;  // an initial
  if (std::all_of(word.begin(), word.end(), IsDigit)) {
    return Trim(line.substr(0, start)).empty();  // "1. First item"
  }
  std::string lower(word);
  for (char& c : lower) c = AsciiLower(c);
  return std::ranges::binary_search(kAbbreviations, std::string_view(lower));
}

void SplitLine(std::string_view line, std::vector<std::string_view>* out) {
  size_t start = 0;
  size_t i = 0;
  while (i < line.size()) {
    if (!IsEnder(line[i])) {
      ++i;
      continue;
    }
    const size_t first_ender = i;
    size_t j = i + 1;
    while (j < line.size() && IsEnder(line[j])) ++j;
    const bool single_dot = line[first_ender] == '.' && j == first_ender + 1;
    while (j < line.size() && IsCloser(line[j])) ++j;
    i = j;
    if (j >= line.size() || !IsAsciiSpace(line[j])) continue;
    if (single_dot) {
      if (EndsAbbreviation(line, first_ender)) continue;
      size_t k = j;
      while (k < line.size() && IsAsciiSpace(line[k])) ++k;
      if (k < line.size() && line[k] >= 'a' && line[k] <= 'z') continue;
    }
    const std::string_view sentence = Trim(line.substr(start, j - start));
    if (!sentence.empty()) out->push_back(sentence);
    start = j;
  }
  const std::string_view rest = Trim(line.substr(start));
  if (!rest.empty()) out->push_back(rest);
}

}  // namespace

std::vector<std::string_view> SplitSentences(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    SplitLine(text.substr(pos, nl - pos), &out);
    pos = nl + 1;
  }
  return out;
}

bool IsQuestion(std::string_view sentence) {
  sentence = Trim(sentence);
  while (!sentence.empty() && IsCloser(sentence.back())) sentence.remove_suffix(1);
  return !sentence.empty() && sentence.back() == '?';
}

}  // namespace basalt::models::builtin
