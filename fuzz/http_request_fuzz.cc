// Fuzzes what the server does with untrusted request bytes before a handler
// runs: Beast's request parser with the server's limits, then routing, path
// parameter decoding and query parsing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/router.h"

namespace {

using basalt::net::HttpRequest;
using basalt::net::HttpResponse;

const basalt::net::Router& TestRouter() {
  static const basalt::net::Router router = [] {
    basalt::net::Router r;
    auto noop = [](HttpRequest&) -> boost::asio::awaitable<absl::StatusOr<HttpResponse>> {
      co_return HttpResponse::Json(200, "{}");
    };
    r.Add("GET", "/healthz", noop);
    r.Add("POST", "/v1/echo", noop);
    r.Add("POST", "/model/{modelId}/converse", noop);
    r.Add("GET", "/v1/things/{id}", noop);
    r.Add("DELETE", "/v1/things/{id}", noop);
    r.Add("GET", "/async-invoke/{arn+}", noop);
    return r;
  }();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::system::error_code ec;
  const char* p = reinterpret_cast<const char*>(data);
  size_t left = size;
  // Feed in two pieces to exercise resumption across buffer boundaries.
  const size_t first = size / 2;
  size_t used = parser.put(boost::asio::const_buffer(p, first), ec);
  if (ec == http::error::need_more) ec = {};
  if (!ec) {
    p += used;
    left -= used;
    while (!ec && left > 0 && !parser.is_done()) {
      used = parser.put(boost::asio::const_buffer(p, left), ec);
      if (used == 0 && !ec) break;
      p += used;
      left -= used;
    }
    if (ec == http::error::need_more) ec = {};
  }
  if (ec || !parser.is_header_done()) return 0;
  auto& request = parser.get();
  std::string_view target = request.target();
  const auto q = target.find('?');
  HttpRequest req(request);
  req.path = target.substr(0, q);
  if (q != std::string_view::npos) req.query = target.substr(q + 1);
  auto match = TestRouter().Match(request.method_string(), req.path);
  if (match.route != nullptr) req.params = match.params;
  (void)req.Param("id");
  (void)req.QueryParam("delay_ms");
  (void)req.Header("x-request-id");
  return 0;
}
