// Fuzzer for the DOCX adapter (src/rag/extract). The input is tried twice: as
// the .docx bytes (libarchive's zip reader), and as word/document.xml inside a
// stored zip (pugixml and the layout walk). Small limits; it must never
// crash, and every result keeps the Extracted invariants.
#include <archive.h>
#include <archive_entry.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rag/extract/docx_extractor.h"
#include "rag/extract/invariants.h"

namespace {

la_ssize_t Append(archive*, void* out, const void* buffer, size_t length) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// A zip holding `xml` as word/document.xml, stored (no compression).
std::string WrapAsDocx(std::string_view xml) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_set_options(a, "zip:compression=store");
  archive_write_open(a, &out, nullptr, &Append, nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "word/document.xml");
  archive_entry_set_size(e, static_cast<la_int64_t>(xml.size()));
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_write_header(a, e);
  archive_write_data(a, xml.data(), xml.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basalt::rag;
  ExtractLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_pages = 16;
  limits.max_time = std::chrono::milliseconds(2000);
  limits.ocr = false;
  limits.max_text_bytes = 1u << 20;
  static const extract::DocxExtractor docx;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const std::string& input : {std::string(bytes), WrapAsDocx(bytes)}) {
    absl::StatusOr<Extracted> out = docx.Extract(input, limits);
    if (out.ok() && !extract::CheckInvariants(*out).ok()) std::abort();
  }
  return 0;
}
