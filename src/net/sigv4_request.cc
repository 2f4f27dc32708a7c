// Raw HTTP/1.1 request text <-> SignableRequest, as aws-c-auth's test suite
// writes requests (request.txt and the *-signed-request.txt files).
#include <string>
#include <string_view>
#include <vector>

#include "core/strings.h"
#include "net/sigv4.h"
#include "net/sigv4_internal.h"

namespace basalt::sigv4 {
namespace {

using internal::EqualsIgnoreCase;
using internal::IsToken;

// Takes the next line (without its LF and an optional CR before it) off `rest`.
// Returns false when `rest` is empty.
bool NextLine(std::string_view& rest, std::string_view& line) {
  if (rest.empty()) return false;
  const size_t lf = rest.find('\n');
  if (lf == std::string_view::npos) {
    line = rest;
    rest = {};
  } else {
    line = rest.substr(0, lf);
    rest.remove_prefix(lf + 1);
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

absl::Status ParseRequestLine(std::string_view line, SignableRequest& request) {
  const size_t first = line.find(' ');
  const size_t last = line.rfind(' ');
  if (first == std::string_view::npos || last <= first + 1) {
    return absl::InvalidArgumentError("request line: expected METHOD SP target SP HTTP-version");
  }
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, last - first - 1);
  const std::string_view version = line.substr(last + 1);
  if (!IsToken(method)) return absl::InvalidArgumentError("request line: malformed method");
  if (version.substr(0, 5) != "HTTP/") {
    return absl::InvalidArgumentError("request line: malformed HTTP version");
  }
  request.method = std::string(method);
  const size_t q = target.find('?');
  request.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) request.query = std::string(target.substr(q + 1));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SignableRequest> ParseRawRequest(std::string_view text) {
  SignableRequest request;
  std::string_view rest = text;
  std::string_view line;
  if (!NextLine(rest, line)) return absl::InvalidArgumentError("request: empty");
  if (absl::Status s = ParseRequestLine(line, request); !s.ok()) return s;

  int line_number = 1;
  while (NextLine(rest, line)) {
    ++line_number;
    if (line.empty()) {
      request.body = std::string(rest);
      return request;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (request.headers.empty()) {
        return absl::InvalidArgumentError(
            StrCat("line ", line_number, ": folded header line before any header"));
      }
      StrAppend(&request.headers.back().second, "\n", line);
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      return absl::InvalidArgumentError(
          StrCat("line ", line_number, ": expected a header \"Name:value\""));
    }
    request.headers.emplace_back(std::string(line.substr(0, colon)),
                                 std::string(line.substr(colon + 1)));
  }
  return request;
}

std::string SerializeRequest(const SignableRequest& request, std::string_view eol) {
  std::string out = StrCat(request.method, " ", request.path);
  if (!request.query.empty()) StrAppend(&out, "?", request.query);
  StrAppend(&out, " HTTP/1.1", eol);
  for (const auto& [name, value] : request.headers) StrAppend(&out, name, ":", value, eol);
  StrAppend(&out, eol, request.body);
  return out;
}

std::vector<std::string_view> HeaderValues(const SignableRequest& request, std::string_view name) {
  std::vector<std::string_view> values;
  for (const auto& [header, value] : request.headers) {
    if (EqualsIgnoreCase(header, name)) values.push_back(value);
  }
  return values;
}

}  // namespace basalt::sigv4
