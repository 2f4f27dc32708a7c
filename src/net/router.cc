#include "net/router.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace basalt::net {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return Split(path, '/');
}

bool IsParam(std::string_view seg) { return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}'; }
bool IsRestParam(std::string_view seg) { return IsParam(seg) && seg[seg.size() - 2] == '+'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether the pattern matches; fills params (decoded) when it does.
bool MatchSegments(const Route& route, const std::vector<std::string_view>& parts,
                   std::vector<std::pair<std::string_view, std::string>>* params, bool* bad_escape) {
  const auto& segs = route.segments;
  const bool rest = !segs.empty() && IsRestParam(segs.back());
  if (rest ? parts.size() < segs.size() : parts.size() != segs.size()) return false;
  params->clear();
  for (size_t i = 0; i < segs.size(); ++i) {
    std::string_view seg = segs[i];
    if (!IsParam(seg)) {
      if (seg != parts[i]) return false;
      continue;
    }
    std::string_view raw = parts[i];
    std::string_view name = seg.substr(1, seg.size() - 2);
    if (rest && i + 1 == segs.size()) {
      name.remove_suffix(1);
      raw = std::string_view(parts[i].data(),
                             static_cast<size_t>(parts.back().data() + parts.back().size() - parts[i].data()));
    }
    if (raw.empty()) return false;
    auto decoded = PercentDecode(raw);
    if (!decoded) {
      *bad_escape = true;
      return false;
    }
    params->emplace_back(name, std::move(*decoded));
  }
  return true;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = HexValue(text[i + 1]);
    const int lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string_view HttpRequest::Header(std::string_view name) const {
  auto it = raw.find(name);
  return it == raw.end() ? std::string_view() : std::string_view(it->value());
}

std::string_view HttpRequest::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> HttpRequest::QueryParam(std::string_view name) const {
  for (std::string_view pair : Split(query, '&')) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    std::string value(pair.substr(eq + 1));
    std::replace(value.begin(), value.end(), '+', ' ');
    return PercentDecode(value);
  }
  return std::nullopt;
}

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  Route route{std::move(method), std::move(pattern), std::move(handler), options, {}};
  for (std::string_view s : SplitPath(route.pattern)) route.segments.emplace_back(s);
  routes_.push_back(std::move(route));
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch match;
  const auto parts = SplitPath(path);
  std::vector<std::string> allowed;
  std::vector<std::pair<std::string_view, std::string>> params;
  for (const Route& route : routes_) {
    if (!MatchSegments(route, parts, &params, &match.bad_escape)) continue;
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      match.route = &route;
      match.params = std::move(params);
      return match;
    }
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
      allowed.push_back(route.method);
    }
  }
  match.allow = absl::StrJoin(allowed, ", ");
  return match;
}

}  // namespace basalt::net
