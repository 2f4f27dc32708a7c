#include "app/system_routes.h"

#include <simdjson.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <charconv>

#include "core/strings.h"
#include "core/json.h"

namespace basalt::app {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;

namespace {

constexpr int kMaxEchoDelayMs = 10'000;

// Parses and re-serialises a JSON body. simdjson on the fast path; on failure
// the slower parser runs to say exactly where and what the problem is.
absl::StatusOr<std::string> Reserialize(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (auto error = parser.parse(padded).get(doc); error != simdjson::SUCCESS) {
    absl::Status detail = ValidateJson(body, "body");
    if (!detail.ok()) return detail;
    // Valid JSON that simdjson still refuses: too deeply nested, too large.
    return absl::InvalidArgumentError(StrCat("body: ", simdjson::error_message(error)));
  }
  return simdjson::minify(doc);
}

}  // namespace

void AddSystemRoutes(net::Router& router, SystemRoutesDeps deps) {
  net::RouteOptions public_route;
  public_route.public_route = true;

  router.Add("GET", "/healthz", [](HttpRequest&) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
    co_return HttpResponse::Json(200, R"({"status":"ok"})");
  }, public_route);

  router.Add("GET", "/readyz", [ready = deps.ready](HttpRequest&) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
    absl::Status status = co_await ready();
    if (!status.ok()) {
      co_return absl::UnavailableError(StrCat("not ready: ", status.message()));
    }
    co_return HttpResponse::Json(200, R"({"status":"ready"})");
  }, public_route);

  router.Add("GET", "/metrics", [registry = deps.registry](HttpRequest&) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
    co_return HttpResponse::Text(200, registry->Render(), "text/plain; version=0.0.4; charset=utf-8");
  }, public_route);

  // POST /v1/echo[?delay_ms=N]: answers the body re-serialised; the optional
  // delay (at most 10 s, never blocking a thread) simulates a slow handler.
  router.Add("POST", "/v1/echo", [](HttpRequest& request) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
    int delay_ms = 0;
    if (auto delay = request.QueryParam("delay_ms")) {
      auto [p, ec] = std::from_chars(delay->data(), delay->data() + delay->size(), delay_ms);
      if (ec != std::errc() || p != delay->data() + delay->size() || delay_ms < 0 ||
          delay_ms > kMaxEchoDelayMs) {
        co_return absl::InvalidArgumentError("delay_ms: must be an integer from 0 to 10000");
      }
    }
    auto echoed = Reserialize(request.body());
    if (!echoed.ok()) co_return echoed.status();
    if (delay_ms > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(delay_ms));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return HttpResponse::Json(200, std::move(*echoed));
  });
}

}  // namespace basalt::app
