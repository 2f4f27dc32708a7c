#include "rag/extract/markdown_extractor.h"

#include "rag/extract/text_extractor.h"
#include "rag/extract/text_util.h"

namespace basalt::rag::extract {
namespace {

size_t LeadingSpaces(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

// A fence opener or closer: up to 3 spaces, then 3+ backticks or tildes.
bool IsFence(std::string_view line, char* fence_char, size_t* fence_len) {
  const size_t indent = LeadingSpaces(line);
  if (indent > 3 || indent >= line.size()) return false;
  const char c = line[indent];
  if (c != '`' && c != '~') return false;
  size_t n = indent;
  while (n < line.size() && line[n] == c) ++n;
  if (n - indent < 3) return false;
  *fence_char = c;
  *fence_len = n - indent;
  return true;
}

// A setext underline of '=' (level 1) or '-' (level 2); 0 when not one.
int SetextLevel(std::string_view line) {
  const size_t indent = LeadingSpaces(line);
  if (indent > 3) return 0;
  std::string_view rest = Trim(line.substr(indent));
  if (rest.empty()) return 0;
  const char c = rest[0];
  if (c != '=' && c != '-') return 0;
  for (char x : rest) {
    if (x != c) return 0;
  }
  return c == '=' ? 1 : 2;
}

// Lines that cannot be (or continue) a setext heading's paragraph.
bool StartsOtherBlock(std::string_view line) {
  const size_t indent = LeadingSpaces(line);
  if (indent >= 4) return true;  // indented code
  std::string_view rest = line.substr(indent);
  if (rest.starts_with(">")) return true;
  if (rest.size() >= 2 && (rest[0] == '-' || rest[0] == '*' || rest[0] == '+') &&
      (rest[1] == ' ' || rest[1] == '\t')) {
    return true;
  }
  size_t d = 0;
  while (d < rest.size() && d < 9 && rest[d] >= '0' && rest[d] <= '9') ++d;
  return d > 0 && d + 1 < rest.size() && (rest[d] == '.' || rest[d] == ')') &&
         (rest[d + 1] == ' ' || rest[d + 1] == '\t');
}

// An ATX heading: its level and the span of its text within `line`.
bool AtxHeading(std::string_view line, int* level, size_t* begin, size_t* end) {
  const size_t indent = LeadingSpaces(line);
  if (indent > 3) return false;
  size_t n = indent;
  while (n < line.size() && line[n] == '#') ++n;
  const size_t hashes = n - indent;
  if (hashes < 1 || hashes > 6) return false;
  if (n < line.size() && line[n] != ' ' && line[n] != '\t') return false;
  size_t b = n, e = line.size();
  while (b < e && IsSpace(line[b])) ++b;
  while (e > b && IsSpace(line[e - 1])) --e;
  // An optional closing sequence of '#' preceded by a space (or the whole content).
  size_t c = e;
  while (c > b && line[c - 1] == '#') --c;
  if (c < e && (c == b || line[c - 1] == ' ' || line[c - 1] == '\t')) {
    e = c;
    while (e > b && IsSpace(line[e - 1])) --e;
  }
  *level = static_cast<int>(hashes);
  *begin = b;
  *end = e;
  return true;
}

}  // namespace

std::vector<Heading> FindMarkdownHeadings(std::string_view text) {
  std::vector<Heading> headings;
  size_t pos = 0;
  bool in_fence = false;
  char fence_char = 0;
  size_t fence_len = 0;
  bool in_front_matter = text.starts_with("---\n");
  bool first_line = true;
  size_t para_begin = std::string::npos;  // where the open paragraph's text starts
  size_t para_end = 0;                    // where its last line's text ends
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    const size_t line_pos = pos;
    pos = nl + 1;
    if (in_front_matter) {
      if (!first_line && (Trim(line) == "---" || Trim(line) == "...")) in_front_matter = false;
      first_line = false;
      continue;
    }
    first_line = false;
    char c;
    size_t len;
    if (in_fence) {
      if (IsFence(line, &c, &len) && c == fence_char && len >= fence_len &&
          IsBlank(line.substr(LeadingSpaces(line) + len))) {
        in_fence = false;
      }
      continue;
    }
    if (IsFence(line, &c, &len)) {
      in_fence = true;
      fence_char = c;
      fence_len = len;
      para_begin = std::string::npos;
      continue;
    }
    if (IsBlank(line)) {
      para_begin = std::string::npos;
      continue;
    }
    int level;
    size_t b, e;
    if (AtxHeading(line, &level, &b, &e)) {
      if (e > b) headings.push_back({level, line_pos + b, line_pos + e});
      para_begin = std::string::npos;
      continue;
    }
    if (para_begin != std::string::npos) {
      if (const int setext = SetextLevel(line); setext > 0) {
        headings.push_back({setext, para_begin, para_end});
        para_begin = std::string::npos;
        continue;
      }
    }
    // Quotes and list items interrupt a paragraph; indented lines continue one.
    const bool continuation = para_begin != std::string::npos && LeadingSpaces(line) >= 4;
    if (StartsOtherBlock(line) && !continuation) {
      para_begin = std::string::npos;
      continue;
    }
    if (para_begin == std::string::npos) para_begin = line_pos + LeadingSpaces(line);
    const std::string_view trimmed = Trim(line);
    para_end = static_cast<size_t>(trimmed.data() - text.data()) + trimmed.size();
  }
  return headings;
}

bool MarkdownExtractor::Accepts(std::string_view mime) const {
  return mime == "text/markdown" || mime == "text/x-markdown";
}

absl::StatusOr<Extracted> MarkdownExtractor::Extract(std::string_view bytes,
                                                     const ExtractLimits& limits) const {
  absl::StatusOr<Extracted> out = ReadPlainText(bytes, limits);
  if (!out.ok()) return out.status();
  out->headings = FindMarkdownHeadings(out->text);
  out->extractor = std::string(name());
  out->version = version();
  out->mime = "text/markdown";
  return out;
}

}  // namespace basalt::rag::extract
