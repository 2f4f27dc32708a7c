#include "rag/extract/text_builder.h"

#include <algorithm>

#include "rag/extract/text_util.h"

namespace basalt::rag::extract {

void TextBuilder::RequestBreak(Break b) {
  if (suppress_breaks_ > 0) {
    if (b != Break::kNone) pending_space_ = true;
    return;
  }
  if (!pending_prefix_.empty()) return;  // absorbed by the prefixed line
  if (static_cast<int>(b) > static_cast<int>(pending_break_)) pending_break_ = b;
  pending_space_ = false;
}

void TextBuilder::StartPrefixedLine(std::string prefix) {
  pending_prefix_.clear();
  RequestBreak(Break::kLine);
  if (suppress_breaks_ == 0) pending_prefix_ = std::move(prefix);
}

void TextBuilder::EndPrefixedLine() {
  pending_prefix_.clear();
  RequestBreak(Break::kLine);
}

void TextBuilder::AddSeparator(std::string_view separator) {
  pending_space_ = false;
  BeginContent();
  const std::string_view trimmed = Trim(separator);
  Append(
      separator.substr(0, static_cast<size_t>(trimmed.data() - separator.data()) + trimmed.size()));
  // The separator's trailing space is collapsible, so empty cells read "a | | b".
  pending_space_ = trimmed.size() < separator.size();
  line_empty_ = false;
}

void TextBuilder::Append(std::string_view s) {
  if (over_limit_) return;
  if (text_.size() + s.size() > max_bytes_) {
    over_limit_ = true;
    return;
  }
  text_.append(s);
}

void TextBuilder::BeginContent() {
  if (pending_break_ != Break::kNone) {
    if (!text_.empty()) Append(pending_break_ == Break::kLine ? "\n" : "\n\n");
    pending_break_ = Break::kNone;
    pending_space_ = false;
    line_empty_ = true;
  }
  if (!pending_prefix_.empty()) {
    Append(pending_prefix_);
    pending_prefix_.clear();
    pending_space_ = false;
    line_empty_ = true;
  }
  if (pending_space_ && !line_empty_) Append(" ");
  pending_space_ = false;
  if (heading_depth_ > 0 && heading_begin_ == std::string::npos) heading_begin_ = text_.size();
}

void TextBuilder::AddInline(std::string_view raw) {
  const std::string clean = CleanUtf8(raw);
  std::string_view s = clean;
  size_t i = 0;
  while (i < s.size() && !over_limit_) {
    const bool nbsp = s[i] == '\xC2' && i + 1 < s.size() && s[i + 1] == '\xA0';
    if (IsSpace(s[i]) || nbsp) {
      pending_space_ = true;
      i += nbsp ? 2 : 1;
      continue;
    }
    // A run of non-space bytes, appended at once.
    size_t j = i;
    while (j < s.size() && !IsSpace(s[j]) &&
           !(s[j] == '\xC2' && j + 1 < s.size() && s[j + 1] == '\xA0')) {
      ++j;
    }
    BeginContent();
    Append(s.substr(i, j - i));
    line_empty_ = false;
    i = j;
  }
}

void TextBuilder::AddVerbatim(std::string_view raw) {
  const std::string clean = CleanUtf8(raw);
  if (clean.empty()) return;
  BeginContent();
  Append(clean);
  line_empty_ = clean.back() == '\n';
}

void TextBuilder::AddLineBreak() {
  if (suppress_breaks_ > 0) {
    pending_space_ = true;
    return;
  }
  if (text_.empty() || pending_break_ != Break::kNone || !pending_prefix_.empty()) return;
  Append("\n");
  line_empty_ = true;
  pending_space_ = false;
}

void TextBuilder::BeginHeading(int level) {
  if (heading_depth_++ > 0) return;
  RequestBreak(Break::kParagraph);
  heading_level_ = std::clamp(level, 1, 6);
  heading_begin_ = std::string::npos;
}

void TextBuilder::EndHeading() {
  if (heading_depth_ == 0 || --heading_depth_ > 0) return;
  if (heading_begin_ != std::string::npos && text_.size() > heading_begin_ && !over_limit_) {
    size_t end = text_.size();
    while (end > heading_begin_ && IsSpace(text_[end - 1])) --end;
    if (end > heading_begin_) headings_.push_back({heading_level_, heading_begin_, end});
  }
  heading_begin_ = std::string::npos;
  RequestBreak(Break::kParagraph);
}

void TextBuilder::Finish(Extracted* out) {
  while (!text_.empty() && IsSpace(text_.back())) text_.pop_back();
  for (Heading& h : headings_) h.end = std::min(h.end, text_.size());
  out->text = std::move(text_);
  out->headings = std::move(headings_);
  text_.clear();
  headings_.clear();
}

}  // namespace basalt::rag::extract
