#include "rag/extract/text_util.h"

#include <algorithm>

#include "core/strings.h"

namespace basalt::rag::extract {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid UTF-8 sequence at s[i], or 0 with `consumed` set to
// the bytes of its maximal invalid subpart (Unicode's "substitution of
// maximal subparts": one U+FFFD per subpart).
size_t ValidSequence(std::string_view s, size_t i, size_t* consumed) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *consumed = 1;
  if (b0 < 0x80) return b0 == 0 ? 0 : 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) {
      *consumed = k;
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char want_lo = k == 1 ? lo : 0x80;
    const unsigned char want_hi = k == 1 ? hi : 0xBF;
    if (b < want_lo || b > want_hi) {
      *consumed = k;
      return 0;
    }
  }
  return len;
}

}  // namespace

std::string CleanUtf8(std::string_view in, size_t* replaced) {
  std::string out;
  out.reserve(in.size());
  size_t count = 0;
  size_t i = 0;
  while (i < in.size()) {
    // Copy the run of plain ASCII (neither CR nor NUL) in one go.
    size_t j = i;
    while (j < in.size()) {
      const auto c = static_cast<unsigned char>(in[j]);
      if (c >= 0x80 || c == '\r' || c == 0) break;
      ++j;
    }
    out.append(in.data() + i, j - i);
    i = j;
    if (i >= in.size()) break;
    if (in[i] == '\r') {
      out.push_back('\n');
      i += (i + 1 < in.size() && in[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    size_t consumed;
    const size_t len = ValidSequence(in, i, &consumed);
    if (len == 0) {
      out.append(kReplacement);
      ++count;
      i += consumed;
    } else {
      out.append(in.data() + i, len);
      i += len;
    }
  }
  if (replaced != nullptr) *replaced = count;
  return out;
}

std::string Latin1ToUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 8);
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

size_t Utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t n = max;
  // Back up over continuation bytes so the cut falls before a lead byte.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return IsSpace(c); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

absl::Status Deadline::Check() const {
  if (std::chrono::steady_clock::now() < end_) return absl::OkStatus();
  return DeadlineError(budget_);
}

int Deadline::RemainingMs() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      end_ - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 1, 1 << 30));
}

absl::Status DeadlineError(std::chrono::milliseconds budget) {
  return absl::DeadlineExceededError(
      StrCat("extraction took longer than rag.max_extract_ms (", budget.count(), " ms)"));
}

absl::Status CheckTextSize(size_t size, const ExtractLimits& limits) {
  if (size <= limits.max_text_bytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat("the extracted text is over its limit of ", limits.max_text_bytes, " bytes"));
}

absl::Status CheckPageCount(int pages, const ExtractLimits& limits) {
  if (pages <= limits.max_pages) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat("the document has ", pages, " pages, over rag.max_pages (", limits.max_pages, ")"));
}

}  // namespace basalt::rag::extract
