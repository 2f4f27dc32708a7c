#include "api/multipart.h"

#include <cctype>

#include "core/strings.h"

namespace basalt::api {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The value of `key` in a header's parameters: `form-data; name="a"; filename="b"`.
std::string Parameter(std::string_view header, std::string_view key) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    std::string_view piece = Trim(header.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
    pos = semi == std::string_view::npos ? header.size() : semi + 1;
    size_t eq = piece.find('=');
    if (eq == std::string_view::npos) continue;
    if (Lower(Trim(piece.substr(0, eq))) != key) continue;
    std::string_view value = Trim(piece.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return "";
}

}  // namespace

absl::StatusOr<std::string> MultipartBoundary(std::string_view content_type) {
  if (Lower(content_type).rfind("multipart/form-data", 0) != 0) {
    return absl::InvalidArgumentError("Content-Type: must be multipart/form-data");
  }
  std::string boundary = Parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) {
    return absl::InvalidArgumentError("Content-Type: multipart/form-data needs a boundary of 1..200 characters");
  }
  return boundary;
}

absl::StatusOr<std::vector<FormPart>> ParseMultipart(std::string_view body,
                                                     std::string_view boundary,
                                                     size_t max_parts) {
  const std::string delimiter = StrCat("--", boundary);
  std::vector<FormPart> parts;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    return absl::InvalidArgumentError("body: the multipart boundary does not occur");
  }
  pos += delimiter.size();
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") {
      return absl::InvalidArgumentError("body: a multipart delimiter must end its line");
    }
    pos += 2;
    // A part without headers starts with the empty line at once.
    const bool no_headers = body.substr(pos, 2) == "\r\n";
    size_t headers_end = no_headers ? pos : body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) {
      return absl::InvalidArgumentError("body: a multipart part has no end of headers");
    }
    FormPart part;
    std::string_view headers = body.substr(pos, headers_end - pos);
    size_t line_start = 0;
    while (line_start <= headers.size()) {
      size_t line_end = headers.find("\r\n", line_start);
      std::string_view line =
          headers.substr(line_start, line_end == std::string_view::npos ? std::string_view::npos
                                                                        : line_end - line_start);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string key = Lower(Trim(line.substr(0, colon)));
        std::string_view value = Trim(line.substr(colon + 1));
        if (key == "content-disposition") {
          part.name = Parameter(value, "name");
          part.filename = Parameter(value, "filename");
        } else if (key == "content-type") {
          part.content_type = std::string(value);
        }
      }
      if (line_end == std::string_view::npos) break;
      line_start = line_end + 2;
    }
    size_t data_start = headers_end + (no_headers ? 2 : 4);
    size_t next = body.find(StrCat("\r\n", delimiter), data_start);
    if (next == std::string_view::npos) {
      return absl::InvalidArgumentError("body: a multipart part is not closed by the boundary");
    }
    part.data = body.substr(data_start, next - data_start);
    if (parts.size() >= max_parts) {
      return absl::InvalidArgumentError(StrCat("body: more than ", max_parts, " multipart parts"));
    }
    parts.push_back(std::move(part));
    pos = next + 2 + delimiter.size();
  }
}

}  // namespace basalt::api
