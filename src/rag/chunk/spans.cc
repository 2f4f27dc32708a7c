#include "rag/chunk/spans.h"

#include <algorithm>

#include "rag/chunk/tokens.h"

namespace basalt::rag::chunk_internal {
namespace {

// Tokens scanned per read ahead.
constexpr int kRefillTokens = 512;

}  // namespace

Span Trim(std::string_view text, Span span) {
  while (span.begin < span.end && IsSpace(text[span.begin])) ++span.begin;
  while (span.end > span.begin && IsSpace(text[span.end - 1])) --span.end;
  return span;
}

TokenStream::TokenStream(std::string_view text, Span region)
    : text_(text.substr(0, region.end)), pos_(region.begin) {}

void TokenStream::Refill() {
  models::builtin::TokenSpan token;
  for (int k = 0; k < kRefillTokens; ++k) {
    if (!NextToken(text_, pos_, &token)) {
      done_ = true;
      return;
    }
    buf_.push_back(token);
    pos_ = token.end;
  }
}

void TokenStream::Release(size_t i) {
  const size_t drop = std::min(i, base_ + buf_.size()) - std::min(i, base_);
  // Erase in bulk only, so the cost stays linear in the document.
  if (drop < 4096 || drop * 2 < buf_.size()) return;
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(drop));
  base_ += drop;
}

void AppendWindows(std::string_view text, Span span, int max_tokens, int overlap_tokens,
                   std::vector<Unit>* out) {
  const size_t max = static_cast<size_t>(std::max(1, max_tokens));
  const size_t overlap = static_cast<size_t>(std::clamp(overlap_tokens, 0, max_tokens - 1));
  TokenStream ts(text, span);
  // Whitespace separates tokens k-1 and k.
  auto space_before = [&](size_t k) { return ts[k].begin > ts[k - 1].end; };
  size_t start = 0;
  while (ts.Has(start)) {
    size_t end = start;
    while (end - start < max && ts.Has(end)) ++end;
    const bool more = ts.Has(end);
    if (more && !space_before(end)) {
      for (size_t k = end - 1; k > start + max / 2; --k) {
        if (space_before(k)) {
          end = k;
          break;
        }
      }
    }
    out->push_back({ts[start].begin, ts[end - 1].end, static_cast<int>(end - start)});
    if (!more) break;
    size_t next = end - std::min(overlap, end - start - 1);
    const size_t search_end = std::min(end, next + std::max<size_t>(1, overlap / 2));
    for (size_t k = next; k < search_end; ++k) {
      if (space_before(k)) {
        next = k;
        break;
      }
    }
    ts.Release(next);
    start = next;
  }
}

PageRange PagesOf(const std::vector<PageSpan>& pages, Span span) {
  if (pages.empty()) return {};
  const auto first = std::partition_point(pages.begin(), pages.end(),
                                          [&](const PageSpan& p) { return p.end <= span.begin; });
  const auto stop = std::partition_point(first, pages.end(),
                                         [&](const PageSpan& p) { return p.begin < span.end; });
  for (auto it = first; it != stop; ++it) {
    if (it->begin < span.end && it->end > span.begin) {
      auto last = stop - 1;
      while (last != it && !(last->begin < span.end && last->end > span.begin)) --last;
      return {it->page, last->page};
    }
  }
  // In no page: the page before the span, else the first.
  const auto after = std::partition_point(pages.begin(), pages.end(),
                                          [&](const PageSpan& p) { return p.begin <= span.begin; });
  const int page = after == pages.begin() ? pages.front().page : std::prev(after)->page;
  return {page, page};
}

std::optional<Chunk> MakeChunk(const Extracted& doc, Span span, std::string_view prefix) {
  span = Trim(doc.text, span);
  if (span.begin == span.end) return std::nullopt;
  Chunk chunk;
  const std::string_view body = std::string_view(doc.text).substr(span.begin, span.end - span.begin);
  chunk.text.reserve(prefix.size() + body.size());
  chunk.text.append(prefix);
  chunk.text.append(body);
  chunk.begin = span.begin;
  chunk.end = span.end;
  chunk.pages = PagesOf(doc.pages, span);
  return chunk;
}

}  // namespace basalt::rag::chunk_internal
