// Search terms for the builtin provider's sentence ranking: the words of a
// text, lowercased (ASCII), with a small English stopword list removed and a
// light suffix-stripping stemmer applied, so "Cats" and "cat" or "running" and
// "run" match. Single ASCII letters are dropped (the "s" of "it's"); digits
// and non-ASCII words are kept as they are.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace basalt::models::builtin {

// The terms of `text`, in order, repeats kept.
std::vector<std::string> ExtractTerms(std::string_view text);

// The stem of a lowercase word: "ies"→"y", "sses"→"ss", a plural "s" dropped,
// "ing"/"ed" dropped (then a doubled final consonant undoubled). Only one rule
// applies. Exposed for tests.
std::string Stem(std::string word);

bool IsStopword(std::string_view lowercase_word);

}  // namespace basalt::models::builtin
