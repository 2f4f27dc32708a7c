// Rules, custom events and rule subscriptions (docs/ASYNC.md, "Rules").
#include <boost/asio/this_coro.hpp>

#include "api/async_api.h"
#include "api/gateway.h"
#include "core/strings.h"
#include "net/stream_writer.h"

namespace basalt::api {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;
using Reply = asio::awaitable<absl::StatusOr<HttpResponse>>;

namespace {

Reply PutRule(HttpRequest& http, AsyncApiDeps deps, bool replace) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto rule = async::ParseRule(*body, *deps.config, http.Param("name"));
  if (!rule.ok()) co_return rule.status();
  auto stored = co_await deps.rules->Put(http.ctx.tenant, *std::move(rule), replace);
  if (!stored.ok()) co_return stored.status();
  co_return HttpResponse::Json(replace ? 200 : 201, async::RenderRule(*stored).dump());
}

Reply GetRule(HttpRequest& http, AsyncApiDeps deps) {
  auto rule = co_await deps.rules->Get(http.ctx.tenant, std::string(http.Param("name")));
  if (!rule.ok()) co_return rule.status();
  co_return HttpResponse::Json(200, async::RenderRule(*rule).dump());
}

Reply ListRules(HttpRequest& http, AsyncApiDeps deps) {
  auto rules = co_await deps.rules->List(http.ctx.tenant);
  if (!rules.ok()) co_return rules.status();
  json data = json::array();
  for (const async::Rule& r : *rules) data.push_back(async::RenderRule(r));
  co_return HttpResponse::Json(200, json{{"object", "list"}, {"data", data}}.dump());
}

Reply DeleteRule(HttpRequest& http, AsyncApiDeps deps) {
  absl::Status s = co_await deps.rules->Delete(http.ctx.tenant, std::string(http.Param("name")));
  if (!s.ok()) co_return s;
  HttpResponse r = HttpResponse::Text(204, "");
  co_return r;
}

Reply TestPattern(HttpRequest& http, AsyncApiDeps) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  if (!body->is_object()) co_return absl::InvalidArgumentError("body: must be a JSON object");
  auto pattern_it = body->find("event_pattern");
  if (pattern_it == body->end()) co_return absl::InvalidArgumentError("event_pattern: is required");
  json pattern = *pattern_it;
  if (pattern.is_string()) pattern = json::parse(pattern.get<std::string>(), nullptr, false);
  auto compiled = bus::EventPattern::FromJson(pattern);
  if (!compiled.ok()) {
    co_return absl::InvalidArgumentError(StrCat("event_pattern.", compiled.status().message()));
  }
  auto event = body->find("event");
  if (event == body->end()) co_return absl::InvalidArgumentError("event: is required");
  json value = *event;
  if (value.is_string()) value = json::parse(value.get<std::string>(), nullptr, false);
  if (!value.is_object()) co_return absl::InvalidArgumentError("event: must be a JSON object");
  co_return HttpResponse::Json(200, json{{"match", compiled->Matches(value)}}.dump());
}

Reply PutEvents(HttpRequest& http, AsyncApiDeps deps) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto out = co_await deps.service->PutEvents(http.ctx.tenant, *body);
  if (!out.ok()) co_return out.status();
  co_return HttpResponse::Json(200, out->dump());
}

Reply Subscribe(HttpRequest& http, AsyncApiDeps deps) {
  auto rule = co_await deps.rules->Get(http.ctx.tenant, std::string(http.Param("name")));
  if (!rule.ok()) co_return rule.status();
  bool has_sse = false;
  for (const auto& t : rule->targets) has_sse = has_sse || t.type == "sse";
  if (!has_sse) {
    co_return absl::FailedPreconditionError(
        StrCat("rule '", rule->name, "' has no sse target; add {\"type\":\"sse\"} to subscribe"));
  }
  auto executor = co_await asio::this_coro::executor;
  bus::EventPattern pattern = *rule->pattern;
  auto sub = std::shared_ptr<async::Subscription>(deps.hub->Subscribe(
      executor, http.ctx.tenant,
      [pattern](const bus::Event& e) { return pattern.MatchesText(e.body); }));
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.stream = [sub](net::StreamWriter& writer) -> asio::awaitable<absl::Status> {
    // Tell the client it is subscribed, so it knows when events will flow.
    if (!(co_await writer.Comment("subscribed")).ok()) co_return absl::OkStatus();
    co_return co_await RelayEvents(writer, *sub, nullptr);
  };
  co_return response;
}

}  // namespace

void AddRulesRoutes(net::Router& router, AsyncApiDeps deps) {
  const net::RouteOptions write{.permission = Permission::kRulesWrite};
  const net::RouteOptions read{.permission = Permission::kRulesRead};
  router.Add("POST", "/v1/rules", [deps](HttpRequest& r) { return PutRule(r, deps, false); }, write);
  router.Add("PUT", "/v1/rules/{name}", [deps](HttpRequest& r) { return PutRule(r, deps, true); },
             write);
  router.Add("GET", "/v1/rules", [deps](HttpRequest& r) { return ListRules(r, deps); }, read);
  router.Add("POST", "/v1/rules/test", [deps](HttpRequest& r) { return TestPattern(r, deps); },
             read);
  router.Add("GET", "/v1/rules/{name}", [deps](HttpRequest& r) { return GetRule(r, deps); }, read);
  router.Add("DELETE", "/v1/rules/{name}", [deps](HttpRequest& r) { return DeleteRule(r, deps); },
             write);
  router.Add("GET", "/v1/rules/{name}/events", [deps](HttpRequest& r) { return Subscribe(r, deps); },
             read);
  router.Add("POST", "/v1/events", [deps](HttpRequest& r) { return PutEvents(r, deps); },
             net::RouteOptions{.permission = Permission::kAsyncWrite});
}

}  // namespace basalt::api
