// Fuzzer for multipart/form-data uploads (src/api/multipart.h). The input's
// first line is the Content-Type header, the rest the body; without a usable
// boundary the body is parsed with boundary "b". Every part's data must be a
// view inside the body, and the part count within the bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view header = input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  absl::StatusOr<std::string> boundary = basalt::api::MultipartBoundary(header);
  if (boundary.ok() && (boundary->empty() || boundary->size() > 200)) std::abort();
  const std::string used = boundary.ok() ? *boundary : "b";
  constexpr size_t kMaxParts = 64;
  auto parts = basalt::api::ParseMultipart(body, used, kMaxParts);
  if (!parts.ok()) {
    if (parts.status().message().empty()) std::abort();
    return 0;
  }
  if (parts->size() > kMaxParts) std::abort();
  for (const basalt::api::FormPart& part : *parts) {
    if (part.data.data() < body.data() ||
        part.data.data() + part.data.size() > body.data() + body.size()) {
      std::abort();
    }
  }
  return 0;
}
