// Porter's stemmer (M.F. Porter, "An algorithm for suffix stripping", 1980),
// written from the paper's rules; see text_tokens.h for the variant.
#include <array>
#include <string>
#include <string_view>

#include "rag/index/text_tokens.h"

namespace basalt::rag {
namespace {

class Stemmer {
 public:
  explicit Stemmer(std::string_view word) : b_(word) {}

  std::string Run() && {
    Step1a();
    Step1b();
    Step1c();
    Step2();
    Step3();
    Step4();
    Step5();
    return std::move(b_);
  }

 private:
  struct Rule {
    std::string_view suffix;
    std::string_view replacement;
  };

  bool Consonant(size_t i) const {
    switch (b_[i]) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        return false;
      case 'y':
        return i == 0 || !Consonant(i - 1);
      default:
        return true;
    }
  }
  // m, the number of vowel-consonant sequences in b_[0, j).
  int Measure(size_t j) const {
    int m = 0;
    size_t i = 0;
    while (i < j && Consonant(i)) ++i;
    while (i < j) {
      while (i < j && !Consonant(i)) ++i;
      if (i >= j) break;
      ++m;
      while (i < j && Consonant(i)) ++i;
    }
    return m;
  }
  bool HasVowel(size_t j) const {
    for (size_t i = 0; i < j; ++i) {
      if (!Consonant(i)) return true;
    }
    return false;
  }
  // b_[0, j) ends in a double consonant.
  bool DoubleConsonant(size_t j) const {
    return j >= 2 && b_[j - 1] == b_[j - 2] && Consonant(j - 1);
  }
  // b_[0, j) ends consonant-vowel-consonant, the last not w, x or y (*o).
  bool Cvc(size_t j) const {
    if (j < 3 || !Consonant(j - 1) || Consonant(j - 2) || !Consonant(j - 3)) return false;
    const char c = b_[j - 1];
    return c != 'w' && c != 'x' && c != 'y';
  }
  bool EndsWith(std::string_view suffix) const {
    return b_.size() > suffix.size() &&
           std::string_view(b_).substr(b_.size() - suffix.size()) == suffix;
  }
  void Replace(size_t suffix_size, std::string_view replacement) {
    b_.replace(b_.size() - suffix_size, suffix_size, replacement.data(), replacement.size());
  }
  // The first rule whose suffix ends the word applies when the stem before it
  // has m > min_measure; later rules are not tried either way.
  template <size_t N>
  void ApplyFirst(const std::array<Rule, N>& rules, int min_measure) {
    for (const Rule& rule : rules) {
      if (!EndsWith(rule.suffix)) continue;
      const size_t stem = b_.size() - rule.suffix.size();
      if (rule.suffix == "ion" && b_[stem - 1] != 's' && b_[stem - 1] != 't') continue;
      if (Measure(stem) > min_measure) Replace(rule.suffix.size(), rule.replacement);
      return;
    }
  }

  void Step1a() {
    if (EndsWith("sses")) {
      Replace(4, "ss");
    } else if (EndsWith("ies")) {
      Replace(3, "i");
    } else if (EndsWith("ss")) {
      // unchanged
    } else if (EndsWith("s")) {
      Replace(1, "");
    }
  }
  void Step1b() {
    if (EndsWith("eed")) {
      if (Measure(b_.size() - 3) > 0) Replace(1, "");
      return;
    }
    size_t cut = 0;
    if (EndsWith("ed") && HasVowel(b_.size() - 2)) {
      cut = 2;
    } else if (EndsWith("ing") && HasVowel(b_.size() - 3)) {
      cut = 3;
    }
    if (cut == 0) return;
    Replace(cut, "");
    if (EndsWith("at") || EndsWith("bl") || EndsWith("iz")) {
      b_ += 'e';
    } else if (DoubleConsonant(b_.size())) {
      const char c = b_.back();
      if (c != 'l' && c != 's' && c != 'z') b_.pop_back();
    } else if (Measure(b_.size()) == 1 && Cvc(b_.size())) {
      b_ += 'e';
    }
  }
  void Step1c() {
    if (EndsWith("y") && HasVowel(b_.size() - 1)) b_.back() = 'i';
  }
  void Step2() {
    static constexpr std::array<Rule, 21> kRules = {{
        {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"},   {"anci", "ance"},
        {"izer", "ize"},    {"bli", "ble"},     {"alli", "al"},     {"entli", "ent"},
        {"eli", "e"},       {"ousli", "ous"},   {"ization", "ize"}, {"ation", "ate"},
        {"ator", "ate"},    {"alism", "al"},    {"iveness", "ive"}, {"fulness", "ful"},
        {"ousness", "ous"}, {"aliti", "al"},    {"iviti", "ive"},   {"biliti", "ble"},
        {"logi", "log"},
    }};
    ApplyFirst(kRules, 0);
  }
  void Step3() {
    static constexpr std::array<Rule, 7> kRules = {{
        {"icate", "ic"},
        {"ative", ""},
        {"alize", "al"},
        {"iciti", "ic"},
        {"ical", "ic"},
        {"ful", ""},
        {"ness", ""},
    }};
    ApplyFirst(kRules, 0);
  }
  void Step4() {
    static constexpr std::array<Rule, 19> kRules = {{
        {"al", ""},   {"ance", ""}, {"ence", ""}, {"er", ""},    {"ic", ""},
        {"able", ""}, {"ible", ""}, {"ant", ""},  {"ement", ""}, {"ment", ""},
        {"ent", ""},  {"ion", ""},  {"ou", ""},   {"ism", ""},   {"ate", ""},
        {"iti", ""},  {"ous", ""},  {"ive", ""},  {"ize", ""},
    }};
    ApplyFirst(kRules, 1);
  }
  void Step5() {
    if (EndsWith("e")) {
      const int m = Measure(b_.size() - 1);
      if (m > 1 || (m == 1 && !Cvc(b_.size() - 1))) b_.pop_back();
    }
    if (EndsWith("l") && DoubleConsonant(b_.size()) && Measure(b_.size()) > 1) b_.pop_back();
  }

  std::string b_;
};

}  // namespace

std::string PorterStem(std::string_view word) {
  if (word.size() < 3 || word.size() > 64) return std::string(word);
  return Stemmer(word).Run();
}

}  // namespace basalt::rag
