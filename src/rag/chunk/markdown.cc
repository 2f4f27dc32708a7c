#include "rag/chunk/markdown.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "models/builtin/tokenizer.h"
#include "rag/chunk/spans.h"
#include "rag/chunk/units.h"

namespace basalt::rag::chunk_internal {
namespace {

struct Section {
  size_t begin = 0;           // start of the heading's line (0 for the preamble)
  const Heading* heading = nullptr;  // null for the text before the first heading
};

// The heading's text on one line, trimmed.
std::string HeadingText(std::string_view text, const Heading& h) {
  const Span s = Trim(text, {h.begin, h.end});
  std::string out(text.substr(s.begin, s.end - s.begin));
  std::replace_if(out.begin(), out.end(), IsSpace, ' ');
  return out;
}

// Sections in order; a heading out of range, out of order or on the line of
// the previous one is ignored (as HeadingLineStarts does).
std::vector<Section> Sections(const Extracted& doc, const std::vector<size_t>& starts) {
  std::vector<Section> sections;
  sections.push_back({0, nullptr});
  size_t next = 0;
  const std::string_view text = doc.text;
  for (const Heading& h : doc.headings) {
    if (next == starts.size()) break;
    if (h.begin > h.end || h.end > text.size()) continue;
    const size_t nl = h.begin == 0 ? std::string_view::npos : text.rfind('\n', h.begin - 1);
    const size_t line = nl == std::string_view::npos ? 0 : nl + 1;
    if (line != starts[next]) continue;
    ++next;
    if (line == 0) sections.clear();  // no preamble before a heading on the first line
    sections.push_back({line, &h});
  }
  return sections;
}

// Whether text[span) holds nothing but the heading's own line.
bool OnlyHeadingLine(std::string_view text, Span span, const Heading& h) {
  const size_t nl = text.find('\n', h.end);
  const size_t line_end = nl == std::string_view::npos || nl > span.end ? span.end : nl;
  const Span rest = Trim(text, {line_end, span.end});
  return rest.begin == rest.end;
}

std::string PathPrefix(const std::vector<std::pair<int, std::string>>& path) {
  std::string prefix;
  for (const auto& [level, name] : path) {
    if (!prefix.empty()) prefix += " > ";
    prefix += name;
  }
  if (!prefix.empty()) prefix += "\n\n";
  return prefix;
}

void EmitSection(const Extracted& doc, Span region, const std::vector<size_t>& starts,
                 std::string_view path_prefix, int max_tokens, std::vector<Chunk>* out) {
  std::string_view prefix = path_prefix;
  auto prefix_tokens = models::builtin::CountTokens(prefix);
  if (prefix_tokens * 2 > max_tokens) {
    prefix = {};
    prefix_tokens = 0;
  }
  const int budget = max_tokens - static_cast<int>(prefix_tokens);
  const std::vector<Unit> units = SentenceUnits(doc.text, region, starts, budget);
  for (Span span : PackUnits(units, budget, /*overlap_sentence=*/true)) {
    if (auto chunk = MakeChunk(doc, span, prefix)) out->push_back(std::move(*chunk));
  }
}

}  // namespace

std::vector<Chunk> MarkdownChunks(const Extracted& doc, int max_tokens) {
  const std::string_view text = doc.text;
  const std::vector<size_t> starts = HeadingLineStarts(doc);
  const std::vector<Section> sections = Sections(doc, starts);
  std::vector<Chunk> chunks;
  std::vector<std::pair<int, std::string>> path;  // (level, text) from the top
  std::string prefix;
  size_t pending = std::string_view::npos;  // start of heading-only sections not yet emitted
  for (size_t k = 0; k < sections.size(); ++k) {
    const Section& section = sections[k];
    const Span span{section.begin, k + 1 < sections.size() ? sections[k + 1].begin : text.size()};
    if (section.heading != nullptr) {
      const int level = std::clamp(section.heading->level, 1, 6);
      while (!path.empty() && path.back().first >= level) path.pop_back();
      path.emplace_back(level, HeadingText(text, *section.heading));
      prefix = PathPrefix(path);
    }
    const Span trimmed = Trim(text, span);
    if (trimmed.begin == trimmed.end) continue;
    if (section.heading != nullptr && OnlyHeadingLine(text, span, *section.heading)) {
      if (pending == std::string_view::npos) pending = span.begin;
      continue;
    }
    const size_t begin = pending == std::string_view::npos ? span.begin : pending;
    pending = std::string_view::npos;
    EmitSection(doc, {begin, span.end}, starts, prefix, max_tokens, &chunks);
  }
  if (pending != std::string_view::npos) {
    EmitSection(doc, {pending, text.size()}, starts, prefix, max_tokens, &chunks);
  }
  return chunks;
}

}  // namespace basalt::rag::chunk_internal
