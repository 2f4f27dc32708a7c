// The values every part of RAG shares: what an extractor produces, what a
// chunker cuts it into, and the metadata attributes filters test.
//
// Offsets are byte offsets into Extracted::text (UTF-8), always on character
// boundaries. The native retrieve API returns a chunk's span in these bytes;
// spans inside an answer or a retrieved text are converted at the edge (code
// points in the native API, UTF-16 units in Bedrock's, as its SDKs count). Pages are
// 1-based; 0 means the source has no pages (text, HTML, Markdown, DOCX).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace basalt::rag {

// A page's text: Extracted::text[begin, end) came from page `page`.
struct PageSpan {
  int page = 0;
  size_t begin = 0;
  size_t end = 0;
  bool ocr = false;  // the text was recognised from the rendered page
};

// A heading the extractor kept: the heading's own text is text[begin, end).
struct Heading {
  int level = 1;  // 1..6
  size_t begin = 0;
  size_t end = 0;
};

struct Extracted {
  std::string text;                // the document as plain text, headings kept as lines
  std::vector<PageSpan> pages;     // in order, covering text; empty when unpaged
  std::vector<Heading> headings;   // in order
  std::string mime;                // the detected type ("application/pdf")
  std::string extractor;           // which extractor ran ("pdf", "html", ...)
  std::string version;             // its version, library versions included
  int ocr_pages = 0;               // pages recognised by OCR
  std::vector<std::string> warnings;  // what was skipped and why (never fatal)
};

// The pages [first, last] a span of text covers; {0, 0} when unpaged.
struct PageRange {
  int first = 0;
  int last = 0;
};

// One piece of a document. `text` is what is embedded and indexed; it is
// text[begin, end) of the document except where a strategy adds context (the
// Markdown strategy prefixes the heading path). The span always points back at
// the document.
struct Chunk {
  std::string text;
  size_t begin = 0;
  size_t end = 0;
  PageRange pages;
  int parent = -1;         // HIERARCHICAL: index of this chunk's parent in the same vector
  bool searchable = true;  // false for HIERARCHICAL parents (returned, never searched)
};

// A document's metadata attribute (Bedrock: STRING, NUMBER, BOOLEAN, STRING_LIST).
using AttributeValue = std::variant<std::string, double, bool, std::vector<std::string>>;
using Attributes = std::map<std::string, AttributeValue, std::less<>>;

// Index entries are addressed by a label unique within one index generation.
using Label = uint64_t;

}  // namespace basalt::rag
