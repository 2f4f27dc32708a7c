// Type detection with libmagic, and the normal form of a declared MIME type.
//
// Thread-safety: Detect may be called from many threads at once. A libmagic
// handle is not thread-safe, so handles are pooled: a caller takes one, uses
// it alone and returns it (a new one is made, loading the database, only
// when all are busy).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace basalt::rag::extract {

struct DetectedType {
  std::string mime;     // "text/plain", "application/pdf"
  std::string charset;  // "us-ascii", "utf-8", "iso-8859-1", "binary", ...
  // Whether libmagic found text (any charset but "binary").
  bool is_text() const { return !charset.empty() && charset != "binary"; }
};

// Lower case, parameters dropped, common aliases mapped to one name
// ("image/jpg" -> "image/jpeg", "text/x-markdown" -> "text/markdown").
std::string NormalizeMime(std::string_view mime);

// The MIME type a file name's extension implies ("notes.md" -> "text/markdown"),
// for documents that come without a declared type (directory data sources);
// "" when the extension is not one the extractors know. It is a declaration
// like any other: the content is still checked against it.
std::string MimeForFileName(std::string_view name);

class MimeDetector {
 public:
  // kInternal when libmagic's database cannot be loaded.
  static absl::StatusOr<std::unique_ptr<MimeDetector>> Create();
  ~MimeDetector();

  // The type of `bytes` (libmagic reads at most the first 1 MiB).
  absl::StatusOr<DetectedType> Detect(std::string_view bytes) const;

  // "libmagic-5.44".
  static std::string Version();

 private:
  MimeDetector() = default;
  absl::StatusOr<void*> Acquire() const;
  void Release(void* handle) const;

  mutable std::mutex mutex_;
  mutable std::vector<void*> free_;  // GUARDED_BY(mutex_): magic_t handles not in use
};

}  // namespace basalt::rag::extract
