// Helpers every extractor shares: UTF-8 repair, line-ending normalisation,
// the deadline and size checks with the messages that name their limits.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "rag/extractor.h"

namespace basalt::rag::extract {

// The text as valid UTF-8 with "\n" line ends. Invalid sequences (bad lead or
// continuation bytes, overlongs, surrogates, past U+10FFFF, truncation) and NUL
// each become U+FFFD; CRLF and a lone CR become LF. `replaced` (if non-null)
// counts the substitutions.
std::string CleanUtf8(std::string_view in, size_t* replaced = nullptr);

// ISO-8859-1 bytes as UTF-8 (every byte is one code point).
std::string Latin1ToUtf8(std::string_view in);

// The length of the longest prefix of `s` that is at most `max` bytes and ends
// on a character boundary of valid UTF-8.
size_t Utf8Prefix(std::string_view s, size_t max);

// Whether c is an ASCII space, tab, newline, form feed, vertical tab or CR.
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\v' || c == '\r';
}
bool IsBlank(std::string_view s);
std::string_view Trim(std::string_view s);

// The wall-clock budget of one extraction (ExtractLimits::max_time).
class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds budget)
      : budget_(budget), end_(std::chrono::steady_clock::now() + budget) {}
  // kDeadlineExceeded naming rag.max_extract_ms once the budget is spent.
  absl::Status Check() const;
  // Milliseconds left (at least 1, so a library "0 = no deadline" never applies).
  int RemainingMs() const;
  std::chrono::milliseconds budget() const { return budget_; }

 private:
  std::chrono::milliseconds budget_;
  std::chrono::steady_clock::time_point end_;
};

// kDeadlineExceeded naming rag.max_extract_ms.
absl::Status DeadlineError(std::chrono::milliseconds budget);
// kInvalidArgument when `size` is past limits.max_text_bytes.
absl::Status CheckTextSize(size_t size, const ExtractLimits& limits);
// kInvalidArgument naming rag.max_pages when `pages` is past limits.max_pages.
absl::Status CheckPageCount(int pages, const ExtractLimits& limits);

}  // namespace basalt::rag::extract
