#include "rag/extract/zip_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>

#include "core/strings.h"

namespace basalt::rag::extract {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

absl::Status ArchiveError(archive* a, std::string_view what) {
  const char* msg = archive_error_string(a);
  return absl::InvalidArgumentError(
      StrCat("zip: ", what, msg != nullptr ? StrCat(": ", msg) : std::string()));
}

absl::StatusOr<ArchivePtr> Open(std::string_view zip) {
  ArchivePtr a(archive_read_new());
  if (a == nullptr) return absl::InternalError("zip: libarchive cannot allocate a reader");
  archive_read_support_format_zip(a.get());
  if (archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "not a readable zip archive");
  }
  return a;
}

// The next entry's name; empty optional at the end of the archive.
absl::StatusOr<bool> Next(archive* a, std::string* name) {
  archive_entry* entry = nullptr;
  const int rc = archive_read_next_header(a, &entry);
  if (rc == ARCHIVE_EOF) return false;
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return ArchiveError(a, "damaged archive");
  const char* path = archive_entry_pathname(entry);
  *name = path != nullptr ? path : "";
  return true;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ReadZipEntries(
    std::string_view zip, const std::vector<std::string>& wanted, const ZipReadOptions& options,
    const Deadline& deadline) {
  absl::StatusOr<ArchivePtr> a = Open(zip);
  if (!a.ok()) return a.status();
  std::map<std::string, std::string> out;
  std::string name;
  std::string buffer(64 * 1024, '\0');
  for (int count = 0;; ++count) {
    if (count >= kMaxZipEntries) {
      return absl::InvalidArgumentError(StrCat("zip: more than ", kMaxZipEntries, " entries"));
    }
    if ((count & 0xFF) == 0) {
      if (absl::Status s = deadline.Check(); !s.ok()) return s;
    }
    absl::StatusOr<bool> more = Next(a->get(), &name);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end() || out.contains(name)) {
      continue;  // the reader skips the rest of the entry on the next header
    }
    std::string& data = out[name];
    while (true) {
      const la_ssize_t n = archive_read_data(a->get(), buffer.data(), buffer.size());
      if (n == 0) break;
      if (n < 0) return ArchiveError(a->get(), StrCat("cannot read ", name));
      if (data.size() + static_cast<size_t>(n) > options.max_entry_bytes) {
        return absl::InvalidArgumentError(StrCat("zip: ", name, " decompresses to over ",
                                                 options.max_entry_bytes, " bytes (",
                                                 options.limit_name, ")"));
      }
      data.append(buffer.data(), static_cast<size_t>(n));
      if (absl::Status s = deadline.Check(); !s.ok()) return s;
    }
  }
  return out;
}

absl::StatusOr<bool> ZipHasEntry(std::string_view zip, std::string_view wanted) {
  absl::StatusOr<ArchivePtr> a = Open(zip);
  if (!a.ok()) return a.status();
  std::string name;
  for (int count = 0; count < kMaxZipEntries; ++count) {
    absl::StatusOr<bool> more = Next(a->get(), &name);
    if (!more.ok()) return more.status();
    if (!*more) return false;
    if (name == wanted) return true;
  }
  return false;
}

}  // namespace basalt::rag::extract
