// TextBuilder: lays structured content (HTML, DOCX) out as plain text with
// headings recorded. Blocks are separated by at most one requested break: a
// line ("\n") between list items and table rows, a paragraph ("\n\n") between
// paragraphs, headings, lists and tables. Inline text collapses whitespace
// runs (U+00A0 included) to one space and never starts or ends a line with
// one. Output is valid UTF-8 (pieces go through CleanUtf8).
//
// Past `max_bytes` the builder stops appending and over_limit() turns true;
// the caller then fails with CheckTextSize. Not thread-safe (one per document).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rag/types.h"

namespace basalt::rag::extract {

class TextBuilder {
 public:
  enum class Break { kNone = 0, kLine = 1, kParagraph = 2 };

  explicit TextBuilder(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Text whose whitespace collapses (HTML text nodes, DOCX runs).
  void AddInline(std::string_view text);
  // Text kept as it is (HTML <pre>); its newlines stay.
  void AddVerbatim(std::string_view text);
  // Asks for at least `b` before the next content (none is written at the start).
  void RequestBreak(Break b);
  // A hard line break inside a block (<br>, w:br): always one "\n".
  void AddLineBreak();
  // Starts a new line that begins with `prefix` ("- " for a list item) once
  // content arrives; breaks asked for before that content are absorbed.
  void StartPrefixedLine(std::string prefix);
  // Ends the prefixed line (a line that got no content is dropped, prefix too).
  void EndPrefixedLine();
  // A separator inside a line that never collapses (" | " between table cells).
  void AddSeparator(std::string_view separator);
  // While suppressed (nesting counts), breaks become spaces: a table cell's
  // paragraphs stay on the cell's row.
  void PushSuppressBreaks() { ++suppress_breaks_; }
  void PopSuppressBreaks() {
    if (suppress_breaks_ > 0) --suppress_breaks_;
  }

  // Everything added between Begin and End is one heading (level clamped to
  // 1..6) on its own paragraph; an empty heading records nothing. Nested
  // Begin calls are part of the outer heading.
  void BeginHeading(int level);
  void EndHeading();

  bool over_limit() const { return over_limit_; }
  size_t size() const { return text_.size(); }

  // Moves text and headings into `out`.
  void Finish(Extracted* out);

 private:
  // Writes the pending break and space before content.
  void BeginContent();
  void Append(std::string_view s);

  size_t max_bytes_;
  std::string text_;
  std::vector<Heading> headings_;
  Break pending_break_ = Break::kNone;
  bool pending_space_ = false;
  bool line_empty_ = true;  // nothing but a prefix on the current line yet
  bool over_limit_ = false;
  int suppress_breaks_ = 0;
  std::string pending_prefix_;
  int heading_depth_ = 0;
  int heading_level_ = 1;
  size_t heading_begin_ = std::string::npos;
};

}  // namespace basalt::rag::extract
