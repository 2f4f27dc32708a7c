#include "rag/chunk/units.h"

#include <algorithm>

#include "models/builtin/sentences.h"
#include "rag/chunk/tokens.h"

namespace basalt::rag::chunk_internal {

std::vector<size_t> HeadingLineStarts(const Extracted& doc) {
  std::vector<size_t> starts;
  starts.reserve(doc.headings.size());
  const std::string_view text = doc.text;
  for (const Heading& h : doc.headings) {
    if (h.begin > h.end || h.end > text.size()) continue;
    const size_t nl = h.begin == 0 ? std::string_view::npos : text.rfind('\n', h.begin - 1);
    const size_t line = nl == std::string_view::npos ? 0 : nl + 1;
    if (!starts.empty() && line <= starts.back()) continue;
    starts.push_back(line);
  }
  return starts;
}

bool ParagraphBreak(std::string_view text, size_t from, size_t to) {
  int line_feeds = 0;
  for (size_t i = from; i < to; ++i) {
    if (text[i] == '\f') return true;
    if (text[i] == '\n' && ++line_feeds == 2) return true;
  }
  return false;
}

std::vector<Unit> SentenceUnits(std::string_view text, Span span,
                                const std::vector<size_t>& heading_starts, int max_tokens) {
  const std::vector<std::string_view> sentences =
      models::builtin::SplitSentences(text.substr(span.begin, span.end - span.begin));
  std::vector<Unit> units;
  units.reserve(sentences.size());
  auto next_heading = std::lower_bound(heading_starts.begin(), heading_starts.end(), span.begin);
  size_t prev_end = span.begin;
  for (std::string_view s : sentences) {
    const size_t begin = static_cast<size_t>(s.data() - text.data());
    const size_t end = begin + s.size();
    // Units never cross a line, so a heading line starting in the gap before
    // this unit starts with it.
    bool heading = false;
    while (next_heading != heading_starts.end() && *next_heading <= begin) {
      heading = heading || *next_heading >= prev_end;
      ++next_heading;
    }
    const bool paragraph = units.empty() || heading || ParagraphBreak(text, prev_end, begin);
    const int64_t tokens = CountTokens(s);
    if (tokens <= max_tokens) {
      units.push_back({begin, end, static_cast<int>(tokens), paragraph, heading});
    } else {
      const size_t first = units.size();
      AppendWindows(text, {begin, end}, max_tokens, 0, &units);
      units[first].paragraph = paragraph;
      units[first].heading = heading;
    }
    prev_end = end;
  }
  return units;
}

std::vector<Span> PackUnits(const std::vector<Unit>& units, int max_tokens,
                            bool overlap_sentence) {
  std::vector<Span> spans;
  const size_t n = units.size();
  size_t i = 0;
  while (i < n) {
    int sum = 0;
    size_t j = i;
    size_t last_para = i;  // the last paragraph start after i, with the tokens before it
    int sum_at_para = 0;
    // Always take one unit, so a unit over the budget (never made here) cannot stall.
    while (j < n && (j == i || sum + units[j].tokens <= max_tokens)) {
      if (j > i && units[j].paragraph) {
        last_para = j;
        sum_at_para = sum;
      }
      sum += units[j].tokens;
      ++j;
    }
    size_t end = j;
    if (end < n && last_para > i && sum_at_para * 2 >= max_tokens) end = last_para;
    if (end < n && end - i >= 2 && units[end - 1].heading) --end;
    spans.push_back({units[i].begin, units[end - 1].end});
    size_t next = end;
    if (overlap_sentence && end < n && end - i >= 2 && !units[end].paragraph) {
      const Unit& last = units[end - 1];
      if (!last.heading && last.tokens * 5 <= max_tokens &&
          last.tokens + units[end].tokens <= max_tokens) {
        next = end - 1;
      }
    }
    i = next;
  }
  return spans;
}

}  // namespace basalt::rag::chunk_internal
