// The canonical request: path, query and header canonicalisation.
#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "net/sigv4.h"
#include "net/sigv4_internal.h"

namespace basalt::sigv4 {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsHeaderSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Removes empty, "." and ".." segments ("/a//b/../c/" -> "/a/c/"), keeping a
// trailing slash when the path had one and something is left before it.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> kept;
  for (std::string_view segment : Split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(segment);
  }
  std::string out;
  for (std::string_view segment : kept) StrAppend(&out, "/", segment);
  if (out.empty()) return "/";
  if (path.back() == '/') out += '/';
  return out;
}

// Headers that proxies add, drop or rewrite; signing them would break requests
// in transit, so signers leave them out.
bool IsUnsignableHeader(std::string_view lower_name) {
  static constexpr std::string_view kSkipped[] = {
      "authorization",        "connection",        "expect",
      "transfer-encoding",    "upgrade",           "user-agent",
      "x-amzn-trace-id",      "sec-websocket-key", "sec-websocket-protocol",
      "sec-websocket-version"};
  return std::find(std::begin(kSkipped), std::end(kSkipped), lower_name) != std::end(kSkipped);
}

}  // namespace

std::string UriEncode(std::string_view bytes, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string UriDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string CanonicalPath(std::string_view raw_path, bool normalize) {
  if (raw_path.empty()) return "/";
  if (!normalize) return UriEncode(raw_path, /*keep_slash=*/true);
  return UriEncode(NormalizePath(raw_path), /*keep_slash=*/true);
}

std::string CanonicalQuery(std::string_view raw_query,
                           std::span<const std::string_view> excluded_keys) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!raw_query.empty()) {
    for (std::string_view piece : Split(raw_query, '&')) {
      if (piece.empty()) continue;
      const size_t eq = piece.find('=');
      std::string key = UriDecode(piece.substr(0, eq));
      if (std::find(excluded_keys.begin(), excluded_keys.end(), key) != excluded_keys.end()) {
        continue;
      }
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
      params.emplace_back(UriEncode(key, false), UriEncode(UriDecode(value), false));
    }
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    StrAppend(&out, key, "=", value);
  }
  return out;
}

std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (IsHeaderSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::vector<std::string> DefaultSignedHeaders(const SignableRequest& request,
                                              bool omit_session_token) {
  std::vector<std::string> names;
  for (const auto& header : request.headers) {
    std::string name = internal::AsciiLower(header.first);
    if (IsUnsignableHeader(name)) continue;
    if (omit_session_token && name == "x-amz-security-token") continue;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string CanonicalRequest(const SignableRequest& request,
                             std::span<const std::string> signed_headers,
                             std::string_view payload_hash, bool normalize_path,
                             std::span<const std::string_view> excluded_query_keys) {
  std::string out = StrCat(request.method, "\n", CanonicalPath(request.path, normalize_path), "\n",
                           CanonicalQuery(request.query, excluded_query_keys), "\n");
  std::string list;
  for (const std::string& name : signed_headers) {
    StrAppend(&out, name, ":");
    bool first = true;
    for (std::string_view value : HeaderValues(request, name)) {
      if (!first) out += ',';
      first = false;
      out += CanonicalHeaderValue(value);
    }
    out += '\n';
    if (!list.empty()) list += ';';
    list += name;
  }
  StrAppend(&out, "\n", list, "\n", payload_hash);
  return out;
}

}  // namespace basalt::sigv4
