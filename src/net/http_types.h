// The types a handler sees: the parsed request with its context and path
// parameters, and the response it returns (whole, or streamed through a
// StreamWriter for chunked and Server-Sent Events responses).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/context.h"

namespace basalt::net {

class StreamWriter;

using RawRequest = boost::beast::http::request<boost::beast::http::string_body>;

// How a route's failures are shaped on the wire.
enum class ErrorStyle {
  kNative,  // {"error":{"message","type","code","request_id"}} (also OpenAI's shape)
  kAws,     // {"message"} with x-amzn-ErrorType, for Bedrock-compatible routes
};

struct HttpRequest {
  explicit HttpRequest(RawRequest& raw_request) : raw(raw_request) {}
  RawRequest& raw;
  RequestContext ctx;
  std::string_view path;   // without the query string
  std::string_view query;  // after '?', undecoded
  std::vector<std::pair<std::string_view, std::string>> params;  // decoded path params

  std::string_view body() const { return raw.body(); }
  std::string_view Header(std::string_view name) const;
  // A path parameter by name; empty when the route has none of that name.
  std::string_view Param(std::string_view name) const;
  // A query parameter, percent-decoded; nullopt when absent.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the server sends the status and headers with chunked transfer
  // encoding and then calls `stream`, which writes the body piece by piece.
  std::function<boost::asio::awaitable<absl::Status>(StreamWriter&)> stream;

  static HttpResponse Json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpResponse Text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8") {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    return r;
  }
};

using Handler = std::function<boost::asio::awaitable<absl::StatusOr<HttpResponse>>(HttpRequest&)>;

// Percent-decodes a URL component ('+' stays '+'); nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace basalt::net
