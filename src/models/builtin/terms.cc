#include "models/builtin/terms.h"

#include <algorithm>
#include <array>

#include "models/builtin/utf8.h"

namespace basalt::models::builtin {
namespace {

// Sorted, for binary search. Question words and auxiliaries are included so a
// question's content words carry its weight.
constexpr std::array<std::string_view, 124> kStopwords = {
    "a",       "about",   "above",   "after",  "again",  "against", "all",     "am",    "an",
    "and",     "any",     "are",     "as",     "at",     "be",      "because", "been",  "before",
    "being",   "below",   "between", "both",   "but",    "by",      "can",     "could", "did",
    "do",      "does",    "doing",   "down",   "during", "each",    "few",     "for",   "from",
    "further", "had",     "has",     "have",   "having", "he",      "her",     "here",  "hers",
    "herself", "him",     "himself", "his",    "how",    "i",       "if",      "in",    "into",
    "is",      "it",      "its",     "itself", "just",   "me",      "more",    "most",  "my",
    "myself",  "no",      "nor",     "not",    "now",    "of",      "off",     "on",    "once",
    "only",    "or",      "other",   "our",    "ours",   "out",     "over",    "own",   "please",
    "same",    "she",     "should",  "so",     "some",   "such",    "tell",    "than",  "that",
    "the",     "their",   "theirs",  "them",   "then",   "there",   "these",   "they",  "this",
    "those",   "through", "to",      "too",    "under",  "until",   "up",      "very",  "was",
    "we",      "were",    "what",    "when",   "where",  "which",   "while",   "who",   "whom",
    "why",     "will",    "with",    "would",  "you",    "your",    "yours"};
static_assert(std::ranges::is_sorted(kStopwords));

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         std::string_view(s).substr(s.size() - suffix.size()) == suffix;
}

bool IsVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

void Undouble(std::string* s) {
  const size_t n = s->size();
  if (n >= 3 && (*s)[n - 1] == (*s)[n - 2] && !IsVowel((*s)[n - 1]) && (*s)[n - 1] != 'l' &&
      (*s)[n - 1] != 's' && (*s)[n - 1] != 'z') {
    s->pop_back();
  }
}

}  // namespace

bool IsStopword(std::string_view lowercase_word) {
  return std::ranges::binary_search(kStopwords, lowercase_word);
}

std::string Stem(std::string w) {
  if (EndsWith(w, "sses")) {
    w.resize(w.size() - 2);
  } else if (w.size() > 4 && EndsWith(w, "ies")) {
    w.resize(w.size() - 3);
    w.push_back('y');
  } else if (w.size() > 5 && EndsWith(w, "ing")) {
    w.resize(w.size() - 3);
    Undouble(&w);
  } else if (w.size() > 4 && EndsWith(w, "ed")) {
    w.resize(w.size() - 2);
    Undouble(&w);
  } else if (w.size() > 3 && EndsWith(w, "s") && !EndsWith(w, "ss") && !EndsWith(w, "us") &&
             !EndsWith(w, "is")) {
    w.pop_back();
  }
  return w;
}

std::vector<std::string> ExtractTerms(std::string_view text) {
  std::vector<std::string> terms;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsWordByte(text[i])) {
      ++i;
      continue;
    }
    std::string word;
    while (i < text.size() && IsWordByte(text[i])) word.push_back(AsciiLower(text[i++]));
    const bool single_letter = word.size() == 1 && word[0] >= 'a' && word[0] <= 'z';
    if (single_letter || IsStopword(word)) continue;
    terms.push_back(Stem(std::move(word)));
  }
  return terms;
}

}  // namespace basalt::models::builtin
