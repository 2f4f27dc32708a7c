// Fuzzer for the Markdown and plain-text adapters (src/rag/extract): any bytes, small
// limits. It must never crash, and every result keeps the Extracted
// invariants (rag/extract/invariants.h).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rag/extract/invariants.h"
#include "rag/extract/markdown_extractor.h"
#include "rag/extract/text_extractor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basalt::rag;
  ExtractLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_pages = 16;
  limits.max_time = std::chrono::milliseconds(2000);
  limits.ocr = false;
  limits.max_text_bytes = 1u << 20;
  static const extract::MarkdownExtractor markdown;
  static const extract::TextExtractor text;
  const Extractor* extractors[] = {&markdown, &text};
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const Extractor* extractor : extractors) {
    absl::StatusOr<Extracted> out = extractor->Extract(bytes, limits);
    if (out.ok() && !extract::CheckInvariants(*out).ok()) std::abort();
  }
  return 0;
}
