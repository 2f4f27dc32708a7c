// Test helpers for chunk/: documents to chunk and the invariants every
// strategy must keep (chunker.h's contract).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "models/builtin/tokenizer.h"
#include "rag/types.h"

namespace basalt::rag::testing {

inline bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

inline bool IsWs(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Whether `s` is well-formed UTF-8.
inline bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if (!IsContinuation(static_cast<unsigned char>(s[i + k]))) return false;
    }
    i += n;
  }
  return true;
}

// The page range computed the slow way: every PageSpan that overlaps.
inline PageRange NaivePages(const Extracted& doc, size_t begin, size_t end) {
  PageRange r;
  for (const PageSpan& p : doc.pages) {
    if (p.begin < end && p.end > begin) {
      if (r.first == 0) r.first = p.page;
      r.last = p.page;
    }
  }
  return r;
}

struct Expect {
  int64_t max_tokens = 0;      // 0: no bound
  bool prefixed = false;       // chunk text may carry a prefix before the span
};

// Spans, UTF-8 boundaries, trimming, text, pages, order, coverage and token bounds.
inline void CheckChunks(const Extracted& doc, const std::vector<Chunk>& chunks, Expect expect) {
  const std::string_view text = doc.text;
  std::vector<bool> covered(text.size(), false);
  const bool valid = ValidUtf8(text);  // malformed bytes count as one-byte characters
  size_t prev_begin = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    SCOPED_TRACE("chunk " + std::to_string(i) + " [" + std::to_string(c.begin) + ", " +
                 std::to_string(c.end) + ")");
    ASSERT_LT(c.begin, c.end);
    ASSERT_LE(c.end, text.size());
    if (valid) {
      EXPECT_FALSE(IsContinuation(static_cast<unsigned char>(text[c.begin])));
      if (c.end < text.size()) {
        EXPECT_FALSE(IsContinuation(static_cast<unsigned char>(text[c.end])));
      }
      EXPECT_TRUE(ValidUtf8(c.text));
    }
    EXPECT_FALSE(IsWs(text[c.begin]));
    EXPECT_FALSE(IsWs(text[c.end - 1]));
    const std::string_view span = text.substr(c.begin, c.end - c.begin);
    if (expect.prefixed) {
      ASSERT_GE(c.text.size(), span.size());
      EXPECT_EQ(std::string_view(c.text).substr(c.text.size() - span.size()), span);
    } else {
      EXPECT_EQ(c.text, span);
    }
    const PageRange want = NaivePages(doc, c.begin, c.end);
    if (!doc.pages.empty() && want.first != 0) {
      EXPECT_EQ(c.pages.first, want.first);
      EXPECT_EQ(c.pages.last, want.last);
    } else if (doc.pages.empty()) {
      EXPECT_EQ(c.pages.first, 0);
      EXPECT_EQ(c.pages.last, 0);
    }
    if (expect.max_tokens > 0) {
      EXPECT_LE(models::builtin::CountTokens(c.text), expect.max_tokens);
    }
    if (c.searchable) {
      EXPECT_GE(c.begin, prev_begin) << "searchable chunks in document order";
      prev_begin = c.begin;
      for (size_t k = c.begin; k < c.end; ++k) covered[k] = true;
    }
  }
  size_t uncovered = 0;
  size_t first_uncovered = 0;
  for (size_t k = 0; k < text.size(); ++k) {
    if (!covered[k] && !IsWs(text[k]) && uncovered++ == 0) first_uncovered = k;
  }
  EXPECT_EQ(uncovered, 0u) << "first at byte " << first_uncovered;
}

// Deterministic prose: `paragraphs` paragraphs of `sentences` sentences of
// 6..17 words, separated by blank lines.
inline std::string Prose(int paragraphs, int sentences, uint32_t seed = 7) {
  static constexpr std::string_view kWords[] = {
      "the",     "cell",    "protein", "binds",   "receptor", "signal", "pathway",
      "of",      "mouse",   "cancer",  "growth",  "factor",   "in",     "vivo",
      "results", "suggest", "that",    "immune",  "response", "is",     "reduced",
      "by",      "therapy", "with",    "patients", "increased", "expression", "levels"};
  std::mt19937 rng(seed);
  std::string out;
  for (int p = 0; p < paragraphs; ++p) {
    if (p > 0) out += "\n\n";
    for (int s = 0; s < sentences; ++s) {
      if (s > 0) out += ' ';
      const int words = 6 + static_cast<int>(rng() % 12);
      for (int w = 0; w < words; ++w) {
        std::string_view word = kWords[rng() % std::size(kWords)];
        if (w > 0) out += ' ';
        if (w == 0) {
          out += static_cast<char>(word[0] - 'a' + 'A');
          out += word.substr(1);
        } else {
          out += word;
        }
        if (w + 1 < words && rng() % 9 == 0) out += ',';
      }
      out += '.';
    }
  }
  return out;
}

inline Extracted Doc(std::string text) {
  Extracted doc;
  doc.text = std::move(text);
  return doc;
}

}  // namespace basalt::rag::testing
