// Internal to chunk/: byte spans, token windows and page lookup that every
// strategy builds on. Tokens are models/builtin/tokenizer.h's; every cut made
// here is at a token boundary, hence on a UTF-8 character boundary.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "models/builtin/tokenizer.h"
#include "rag/types.h"

namespace basalt::rag::chunk_internal {

struct Span {
  size_t begin = 0;
  size_t end = 0;
};

// A piece of text the packers work with: a sentence, or a window of one.
struct Unit {
  size_t begin = 0;
  size_t end = 0;
  int tokens = 0;
  bool paragraph = false;  // a blank line, a form feed or a heading precedes it
  bool heading = false;    // it starts a heading line
};

// The ASCII whitespace the tokenizer and sentence splitter skip.
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `span` without its leading and trailing whitespace (empty: begin == end).
Span Trim(std::string_view text, Span span);

// The tokens of text[region) in order, with offsets into `text`, scanned
// ahead in small batches so memory stays bounded on large documents. `region.begin` must be a
// token boundary of the whole text (a word start, or after whitespace).
class TokenStream {
 public:
  TokenStream(std::string_view text, Span region);
  // Whether token `i` exists; reads ahead as needed.
  bool Has(size_t i) {
    while (i >= base_ + buf_.size() && !done_) Refill();
    return i < base_ + buf_.size();
  }
  // Token `i`: Has(i) was true and Release has not passed it.
  const models::builtin::TokenSpan& operator[](size_t i) const { return buf_[i - base_]; }
  // Tokens before `i` will not be asked for again.
  void Release(size_t i);

 private:
  void Refill();

  std::string_view text_;  // up to the region's end
  size_t pos_;
  bool done_ = false;
  size_t base_ = 0;  // index of buf_[0]
  std::vector<models::builtin::TokenSpan> buf_;
};

// Appends the windows of text[span): each at most `max_tokens` tokens, each
// next one starting `overlap_tokens` tokens before the previous one's end.
// A cut that would fall inside a word moves back to the last whitespace in
// the window's second half; an overlap start moves forward to a word start
// within half the overlap. Units carry their token counts, no flags.
void AppendWindows(std::string_view text, Span span, int max_tokens, int overlap_tokens,
                   std::vector<Unit>* out);

// The first and last page `span` overlaps; {0, 0} when `pages` is empty. A
// span in no page (a gap between pages) gets the page before it.
PageRange PagesOf(const std::vector<PageSpan>& pages, Span span);

// A chunk of text[span) trimmed, with `prefix` before its text; nullopt when
// nothing but whitespace is left.
std::optional<Chunk> MakeChunk(const Extracted& doc, Span span, std::string_view prefix = {});

}  // namespace basalt::rag::chunk_internal
