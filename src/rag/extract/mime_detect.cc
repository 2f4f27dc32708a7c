#include "rag/extract/mime_detect.h"

#include <magic.h>

#include <algorithm>
#include <cctype>

#include "core/strings.h"

namespace basalt::rag::extract {
namespace {

constexpr size_t kMagicBytes = 1u << 20;

absl::StatusOr<magic_t> OpenHandle() {
  magic_t m = magic_open(MAGIC_MIME | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF | MAGIC_ERROR);
  if (m == nullptr) return absl::InternalError("libmagic: cannot open a handle");
  if (magic_load(m, nullptr) != 0) {
    const char* err = magic_error(m);
    std::string msg = StrCat("libmagic: cannot load the database: ", err != nullptr ? err : "?");
    magic_close(m);
    return absl::InternalError(msg);
  }
  size_t bytes_max = kMagicBytes;
  magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes_max);
  return m;
}

}  // namespace

std::string NormalizeMime(std::string_view mime) {
  const size_t semi = mime.find(';');
  if (semi != std::string_view::npos) mime = mime.substr(0, semi);
  while (!mime.empty() && std::isspace(static_cast<unsigned char>(mime.front()))) {
    mime.remove_prefix(1);
  }
  while (!mime.empty() && std::isspace(static_cast<unsigned char>(mime.back()))) {
    mime.remove_suffix(1);
  }
  std::string out(mime);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (out == "image/jpg" || out == "image/pjpeg") return "image/jpeg";
  if (out == "image/tif") return "image/tiff";
  if (out == "application/x-pdf") return "application/pdf";
  if (out == "text/x-markdown" || out == "text/md") return "text/markdown";
  if (out == "binary/octet-stream") return "application/octet-stream";
  return out;
}

std::string MimeForFileName(std::string_view name) {
  const size_t slash = name.find_last_of('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  std::string ext(name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"txt", "text/plain"},
      {"text", "text/plain"},
      {"md", "text/markdown"},
      {"markdown", "text/markdown"},
      {"html", "text/html"},
      {"htm", "text/html"},
      {"xhtml", "application/xhtml+xml"},
      {"pdf", "application/pdf"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"tif", "image/tiff"},
      {"tiff", "image/tiff"},
  };
  for (const auto& [e, mime] : kTypes) {
    if (ext == e) return std::string(mime);
  }
  return "";
}

absl::StatusOr<std::unique_ptr<MimeDetector>> MimeDetector::Create() {
  absl::StatusOr<magic_t> first = OpenHandle();
  if (!first.ok()) return first.status();
  std::unique_ptr<MimeDetector> d(new MimeDetector());
  d->free_.push_back(*first);
  return d;
}

MimeDetector::~MimeDetector() {
  for (void* h : free_) magic_close(static_cast<magic_t>(h));
}

std::string MimeDetector::Version() {
  const int v = magic_version();
  return StrCat("libmagic-", v / 100, ".", v % 100);
}

absl::StatusOr<void*> MimeDetector::Acquire() const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      void* h = free_.back();
      free_.pop_back();
      return h;
    }
  }
  absl::StatusOr<magic_t> h = OpenHandle();
  if (!h.ok()) return h.status();
  return static_cast<void*>(*h);
}

void MimeDetector::Release(void* handle) const {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(handle);
}

absl::StatusOr<DetectedType> MimeDetector::Detect(std::string_view bytes) const {
  absl::StatusOr<void*> h = Acquire();
  if (!h.ok()) return h.status();
  const auto m = static_cast<magic_t>(*h);
  const char* result = magic_buffer(m, bytes.data(), std::min(bytes.size(), kMagicBytes));
  std::string value = result != nullptr ? result : "";
  std::string error = result == nullptr && magic_error(m) != nullptr ? magic_error(m) : "";
  Release(*h);
  if (result == nullptr) return absl::InternalError(StrCat("libmagic: ", error));
  // "text/plain; charset=us-ascii"
  DetectedType out;
  out.mime = NormalizeMime(value);
  const size_t cs = value.find("charset=");
  if (cs != std::string::npos) out.charset = value.substr(cs + 8);
  return out;
}

}  // namespace basalt::rag::extract
