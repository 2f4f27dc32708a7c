#include "bus/rules/wildcard.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace basalt::bus {
namespace {

bool Glob(std::string_view pattern, std::string_view text) {
  absl::StatusOr<WildcardPattern> p = WildcardPattern::Compile(pattern);
  EXPECT_TRUE(p.ok()) << pattern << " -> " << p.status();
  return p.ok() && p->Matches(text);
}

TEST(WildcardPatternTest, NoStarIsExact) {
  EXPECT_TRUE(Glob("abc", "abc"));
  EXPECT_FALSE(Glob("abc", "abcd"));
  EXPECT_TRUE(Glob("", ""));
  EXPECT_FALSE(Glob("", "a"));
}

TEST(WildcardPatternTest, StarsAnywhere) {
  EXPECT_TRUE(Glob("*", ""));
  EXPECT_TRUE(Glob("*", "anything"));
  EXPECT_TRUE(Glob("a*", "a"));
  EXPECT_TRUE(Glob("*a", "bba"));
  EXPECT_FALSE(Glob("*a", "ab"));
  EXPECT_TRUE(Glob("a*b*c", "abc"));
  EXPECT_TRUE(Glob("a*b*c", "axxbyybzc"));
  EXPECT_FALSE(Glob("a*b*c", "axxcyyb"));
  EXPECT_TRUE(Glob("*/lib/*", "/usr/lib/x"));
}

TEST(WildcardPatternTest, HeadAndTailMayNotOverlap) {
  EXPECT_FALSE(Glob("ab*ba", "aba"));
  EXPECT_TRUE(Glob("ab*ba", "abba"));
}

TEST(WildcardPatternTest, Escapes) {
  EXPECT_TRUE(Glob(R"(a\*)", "a*"));
  EXPECT_FALSE(Glob(R"(a\*)", "ab"));
  EXPECT_TRUE(Glob(R"(a\\*)", R"(a\bc)"));
  EXPECT_TRUE(Glob(R"(*\**)", "x*y"));  // star, literal star, star
  EXPECT_FALSE(Glob(R"(*\**)", "xy"));
}

TEST(WildcardPatternTest, RejectsConsecutiveStarsAndBadEscapes) {
  EXPECT_FALSE(WildcardPattern::Compile("a**").ok());
  EXPECT_FALSE(WildcardPattern::Compile("**").ok());
  EXPECT_FALSE(WildcardPattern::Compile(R"(a\b)").ok());
  EXPECT_FALSE(WildcardPattern::Compile(R"(a\)").ok());
  EXPECT_TRUE(WildcardPattern::Compile(R"(*\**)").ok());
}

TEST(WildcardPatternTest, NoExponentialBacktracking) {
  // Classic backtracking killer: many stars over a long run of 'a' that fails
  // at the very end. The greedy algorithm finishes in microseconds.
  std::string pattern;
  for (int i = 0; i < 100; ++i) pattern += "a*";
  pattern += "b";
  const std::string text(20000, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(Glob(pattern, text));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// Reference matcher: textbook dynamic programming over (pattern, text)
// prefixes, with `*` the only special character.
bool ReferenceGlob(std::string_view p, std::string_view t) {
  std::vector<std::vector<bool>> m(p.size() + 1, std::vector<bool>(t.size() + 1, false));
  m[0][0] = true;
  for (size_t i = 1; i <= p.size(); ++i) {
    for (size_t j = 0; j <= t.size(); ++j) {
      if (p[i - 1] == '*') {
        m[i][j] = m[i - 1][j] || (j > 0 && m[i][j - 1]);
      } else {
        m[i][j] = j > 0 && m[i - 1][j - 1] && p[i - 1] == t[j - 1];
      }
    }
  }
  return m[p.size()][t.size()];
}

TEST(WildcardPatternTest, AgreesWithReferenceMatcher) {
  std::mt19937 rng(42);  // fixed seed: deterministic
  for (int round = 0; round < 20000; ++round) {
    std::string pattern;
    const int plen = static_cast<int>(rng() % 7);
    for (int i = 0; i < plen; ++i) {
      const char c = "ab*"[rng() % 3];
      if (c == '*' && !pattern.empty() && pattern.back() == '*') continue;
      pattern.push_back(c);
    }
    std::string text;
    const int tlen = static_cast<int>(rng() % 9);
    for (int i = 0; i < tlen; ++i) text.push_back("ab"[rng() % 2]);
    ASSERT_EQ(Glob(pattern, text), ReferenceGlob(pattern, text)) << pattern << " vs " << text;
  }
}

}  // namespace
}  // namespace basalt::bus
