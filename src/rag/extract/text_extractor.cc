#include "rag/extract/text_extractor.h"

#include <array>

#include "core/strings.h"
#include "rag/extract/text_util.h"

namespace basalt::rag::extract {

bool TextExtractor::Accepts(std::string_view mime) const {
  static constexpr std::array<std::string_view, 9> kApplication = {
      "application/json",       "application/x-ndjson", "application/xml",
      "application/yaml",       "application/x-yaml",   "application/csv",
      "application/javascript", "application/toml",     "application/sql"};
  if (mime.starts_with("text/")) return mime != "text/html" && mime != "text/markdown";
  for (std::string_view m : kApplication) {
    if (mime == m) return true;
  }
  return false;
}

absl::StatusOr<Extracted> ReadPlainText(std::string_view bytes, const ExtractLimits& limits) {
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  Extracted out;
  size_t replaced = 0;
  out.text = CleanUtf8(bytes, &replaced);
  if (absl::Status s = CheckTextSize(out.text.size(), limits); !s.ok()) return s;
  if (replaced > 0) {
    out.warnings.push_back(StrCat(replaced, " invalid UTF-8 sequences were replaced with U+FFFD"));
  }
  return out;
}

absl::StatusOr<Extracted> TextExtractor::Extract(std::string_view bytes,
                                                 const ExtractLimits& limits) const {
  absl::StatusOr<Extracted> out = ReadPlainText(bytes, limits);
  if (!out.ok()) return out.status();
  out->extractor = std::string(name());
  out->version = version();
  out->mime = "text/plain";
  return out;
}

}  // namespace basalt::rag::extract
