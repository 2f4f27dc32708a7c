// Reading entries of a zip archive held in memory (libarchive), bounded so a
// zip bomb cannot exhaust memory: each entry read is capped as it
// decompresses, and the number of entries walked is capped.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rag/extract/text_util.h"

namespace basalt::rag::extract {

inline constexpr int kMaxZipEntries = 100000;

struct ZipReadOptions {
  size_t max_entry_bytes = 64u << 20;                 // decompressed, per entry read
  std::string limit_name = "rag.max_document_bytes";  // named in the error past it
};

// The contents of the entries of `zip` whose names are in `wanted` (entries
// not wanted are skipped unread; a wanted name missing from the zip is absent
// from the map). kInvalidArgument when the bytes are not a readable zip, an
// entry is encrypted or damaged, an entry decompresses past max_entry_bytes,
// or the zip has more than kMaxZipEntries entries; kDeadlineExceeded.
absl::StatusOr<std::map<std::string, std::string>> ReadZipEntries(
    std::string_view zip, const std::vector<std::string>& wanted, const ZipReadOptions& options,
    const Deadline& deadline);

// Whether the zip lists an entry named `name` (no entry is decompressed).
// kInvalidArgument when the bytes are not a readable zip.
absl::StatusOr<bool> ZipHasEntry(std::string_view zip, std::string_view name);

}  // namespace basalt::rag::extract
