#include "rag/extract/invariants.h"

#include "core/strings.h"
#include "rag/extract/text_util.h"

namespace basalt::rag::extract {
namespace {

bool OnBoundary(const std::string& s, size_t i) {
  return i == s.size() || (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80);
}

}  // namespace

absl::Status CheckInvariants(const Extracted& e) {
  if (CleanUtf8(e.text) != e.text) return absl::InternalError("text is not clean UTF-8");
  size_t last_end = 0;
  int last_page = 0, ocr = 0;
  for (const PageSpan& p : e.pages) {
    if (p.page != last_page + 1) return absl::InternalError(StrCat("page ", p.page, " out of order"));
    if (p.begin < last_end || p.end < p.begin || p.end > e.text.size()) {
      return absl::InternalError(StrCat("page ", p.page, " span is out of bounds"));
    }
    if (!OnBoundary(e.text, p.begin) || !OnBoundary(e.text, p.end)) {
      return absl::InternalError(StrCat("page ", p.page, " span splits a character"));
    }
    last_page = p.page;
    last_end = p.end;
    ocr += p.ocr ? 1 : 0;
  }
  if (ocr != e.ocr_pages) return absl::InternalError("ocr_pages does not count the OCR pages");
  size_t last_begin = 0;
  for (const Heading& h : e.headings) {
    if (h.level < 1 || h.level > 6) return absl::InternalError("heading level out of range");
    if (h.begin < last_begin || h.end <= h.begin || h.end > e.text.size()) {
      return absl::InternalError("heading span is empty, out of order or out of bounds");
    }
    if (!OnBoundary(e.text, h.begin) || !OnBoundary(e.text, h.end)) {
      return absl::InternalError("heading span splits a character");
    }
    last_begin = h.begin;
  }
  return absl::OkStatus();
}

}  // namespace basalt::rag::extract
