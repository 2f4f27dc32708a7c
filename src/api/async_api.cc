#include "api/async_api.h"

#include <boost/asio/this_coro.hpp>
#include <charconv>

#include "api/gateway.h"
#include "async/records.h"
#include "core/strings.h"
#include "net/stream_writer.h"

namespace basalt::api {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;
using Reply = asio::awaitable<absl::StatusOr<HttpResponse>>;

namespace {

constexpr auto kHeartbeat = std::chrono::seconds(15);

absl::StatusOr<int> LimitParam(const HttpRequest& http, int fallback, int max) {
  auto text = http.QueryParam("limit");
  if (!text) return fallback;
  int value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size() || value < 1 || value > max) {
    return absl::InvalidArgumentError(StrCat("limit: must be an integer from 1 to ", max));
  }
  return value;
}

bool IsTerminalEvent(const bus::Event& e) {
  return e.type == "genai.request.completed" || e.type == "genai.request.failed" ||
         e.type == "genai.request.cancelled";
}

Reply Submit(HttpRequest& http, AsyncApiDeps deps) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto options = deps.service->ParseInvocation(*std::move(body));
  if (!options.ok()) co_return options.status();
  auto submitted = co_await deps.service->Submit(http.ctx.tenant, *std::move(options));
  if (!submitted.ok()) co_return submitted.status();
  json out = {{"request_id", submitted->job.id},
              {"object", "async.invocation"},
              {"status", async::StatusName(submitted->job.state)},
              {"estimated_completion_seconds", submitted->estimated_completion_seconds},
              {"created_at", async::IsoTime(submitted->job.created_ms)}};
  HttpResponse r = HttpResponse::Json(submitted->created ? 202 : 200, out.dump());
  r.headers.emplace_back("Location", StrCat("/v1/async/invocations/", submitted->job.id));
  if (!submitted->created) r.headers.emplace_back("Idempotent-Replayed", "true");
  co_return r;
}

Reply GetOne(HttpRequest& http, AsyncApiDeps deps) {
  auto job = co_await deps.service->Get(http.ctx.tenant, std::string(http.Param("id")));
  if (!job.ok()) co_return job.status();
  co_return HttpResponse::Json(200, async::RenderInvocation(*job, async::PayloadOf(*job), true).dump());
}

Reply ListAll(HttpRequest& http, AsyncApiDeps deps) {
  auto limit = LimitParam(http, 100, 1000);
  if (!limit.ok()) co_return limit.status();
  bus::JobFilter filter;
  filter.tenant = http.ctx.tenant;
  filter.queue = std::string(async::kGenaiQueue);
  filter.limit = *limit + 1;  // one more tells whether there is a next page
  if (auto status = http.QueryParam("status")) {
    bus::JobState state;
    if (!async::ParseStatus(*status, &state)) {
      co_return absl::InvalidArgumentError(
          "status: must be one of queued, processing, completed, failed, cancelled");
    }
    filter.state = state;
  }
  if (auto after = http.QueryParam("after")) filter.before_id = *after;
  if (auto batch = http.QueryParam("batch_id")) filter.group_id = *batch;
  if (auto model = http.QueryParam("model")) {
    filter.where = [model = *model](const bus::Job& job) {
      return async::PayloadOf(job).value("model", "") == model;
    };
  }
  auto jobs = co_await deps.service->List(std::move(filter));
  if (!jobs.ok()) co_return jobs.status();
  const bool has_more = static_cast<int>(jobs->size()) > *limit;
  if (has_more) jobs->pop_back();
  json data = json::array();
  for (const bus::Job& j : *jobs) data.push_back(async::RenderInvocation(j, async::PayloadOf(j), false));
  json out = {{"object", "list"},
              {"data", data},
              {"has_more", has_more},
              {"next_cursor", has_more ? json(jobs->back().id) : json(nullptr)}};
  co_return HttpResponse::Json(200, out.dump());
}

Reply CancelOne(HttpRequest& http, AsyncApiDeps deps) {
  auto job = co_await deps.service->Cancel(http.ctx.tenant, std::string(http.Param("id")));
  if (!job.ok()) co_return job.status();
  co_return HttpResponse::Json(200, async::RenderInvocation(*job, async::PayloadOf(*job), true).dump());
}

Reply Events(HttpRequest& http, AsyncApiDeps deps) {
  const std::string id(http.Param("id"));
  const std::string tenant = http.ctx.tenant;
  auto job = co_await deps.service->Get(tenant, id);
  if (!job.ok()) co_return job.status();
  int64_t after = 0;
  if (std::string_view last = http.Header("last-event-id"); !last.empty()) {
    std::from_chars(last.data(), last.data() + last.size(), after);
  }
  // Subscribe before reading the history, so nothing falls between the two.
  auto executor = co_await asio::this_coro::executor;
  auto sub = std::shared_ptr<async::Subscription>(deps.hub->Subscribe(
      executor, tenant, [id](const bus::Event& e) { return e.subject == id; }));
  auto history = co_await deps.service->bus().EventsFor(tenant, id, after);
  if (!history.ok()) co_return history.status();
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.stream = [sub, history = *std::move(history)](
                        net::StreamWriter& writer) -> asio::awaitable<absl::Status> {
    int64_t sent = 0;
    for (const bus::Event& e : history) {
      absl::Status s = co_await writer.Event(e.type, e.body, std::to_string(e.seq));
      if (!s.ok()) co_return absl::OkStatus();
      sent = e.seq;
      if (IsTerminalEvent(e)) co_return absl::OkStatus();
    }
    for (;;) {
      auto next = co_await sub->Next(kHeartbeat);
      if (!next.ok()) co_return absl::OkStatus();
      if (!next->has_value()) {
        if (!(co_await writer.Comment("keep-alive")).ok()) co_return absl::OkStatus();
        continue;
      }
      const bus::Event& e = **next;
      if (e.seq <= sent) continue;  // already in the history
      absl::Status s = co_await writer.Event(e.type, e.body, std::to_string(e.seq));
      if (!s.ok()) co_return absl::OkStatus();
      sent = e.seq;
      if (IsTerminalEvent(e)) co_return absl::OkStatus();
    }
  };
  co_return response;
}

Reply SubmitBatch(HttpRequest& http, AsyncApiDeps deps) {
  std::string model = http.QueryParam("model").value_or("");
  std::string name = http.QueryParam("name").value_or("");
  std::string body(http.body());
  auto batch = co_await deps.service->SubmitBatch(http.ctx.tenant, std::move(model),
                                                  std::move(name), body);
  if (!batch.ok()) co_return batch.status();
  co_return HttpResponse::Json(202, batch->dump());
}

Reply GetBatch(HttpRequest& http, AsyncApiDeps deps) {
  auto batch = co_await deps.service->GetBatch(http.ctx.tenant, std::string(http.Param("id")));
  if (!batch.ok()) co_return batch.status();
  co_return HttpResponse::Json(200, batch->dump());
}

Reply BatchOutput(HttpRequest& http, AsyncApiDeps deps) {
  auto out = co_await deps.service->BatchOutput(http.ctx.tenant, std::string(http.Param("id")));
  if (!out.ok()) co_return out.status();
  co_return HttpResponse::Text(200, *std::move(out), "application/jsonl");
}

Reply ListBatches(HttpRequest& http, AsyncApiDeps deps) {
  auto limit = LimitParam(http, 100, 1000);
  if (!limit.ok()) co_return limit.status();
  auto page = co_await deps.service->ListBatches(http.ctx.tenant,
                                                 http.QueryParam("after").value_or(""), *limit);
  if (!page.ok()) co_return page.status();
  co_return HttpResponse::Json(200, page->dump());
}

Reply Stats(HttpRequest& http, AsyncApiDeps deps) {
  auto stats = co_await deps.service->QueueStats(http.ctx.tenant);
  if (!stats.ok()) co_return stats.status();
  co_return HttpResponse::Json(200, stats->dump());
}

Reply ListDead(HttpRequest& http, AsyncApiDeps deps) {
  auto limit = LimitParam(http, 100, 1000);
  if (!limit.ok()) co_return limit.status();
  const std::string queue = http.QueryParam("queue").value_or(std::string(async::kGenaiQueue));
  if (queue != async::kGenaiQueue && queue != async::kWebhookQueue) {
    co_return absl::InvalidArgumentError("queue: must be \"genai\" or \"webhooks\"");
  }
  bus::JobFilter filter;
  filter.tenant = http.ctx.tenant;
  filter.queue = queue;
  filter.state = bus::JobState::kDead;
  filter.limit = *limit;
  auto jobs = co_await deps.service->List(std::move(filter));
  if (!jobs.ok()) co_return jobs.status();
  json data = json::array();
  for (const bus::Job& j : *jobs) {
    json payload = async::PayloadOf(j);
    json item = {{"id", j.id},
                 {"queue", j.queue},
                 {"attempts", j.attempts},
                 {"created_at", async::IsoTime(j.created_ms)},
                 {"failed_at", async::IsoTime(j.finished_ms)},
                 {"error", json::parse(j.error.empty() ? "null" : j.error, nullptr, false)}};
    if (queue == async::kWebhookQueue) {
      item["url"] = payload.value("url", "");
      item["event_id"] = payload.value("event_id", "");
      item["event_type"] = payload.value("event_type", "");
    } else {
      item["model"] = payload.value("model", "");
    }
    data.push_back(std::move(item));
  }
  co_return HttpResponse::Json(200, json{{"object", "list"}, {"queue", queue}, {"data", data}}.dump());
}

Reply Redrive(HttpRequest& http, AsyncApiDeps deps) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  if (!body->is_object()) co_return absl::InvalidArgumentError("body: must be a JSON object");
  const std::string queue = body->value("queue", std::string(async::kGenaiQueue));
  std::vector<std::string> ids;
  if (auto it = body->find("ids"); it != body->end()) {
    if (!it->is_array()) co_return absl::InvalidArgumentError("ids: must be an array of ids");
    for (const json& id : *it) {
      if (!id.is_string()) co_return absl::InvalidArgumentError("ids: must be an array of ids");
      ids.push_back(id.get<std::string>());
    }
  }
  int limit = 1000;
  if (auto it = body->find("limit"); it != body->end()) {
    if (!it->is_number_integer()) co_return absl::InvalidArgumentError("limit: must be an integer");
    limit = it->get<int>();
  }
  auto redriven = co_await deps.service->Redrive(http.ctx.tenant, queue, std::move(ids), limit);
  if (!redriven.ok()) co_return redriven.status();
  json out_ids = json::array();
  for (const bus::Job& j : *redriven) out_ids.push_back(j.id);
  co_return HttpResponse::Json(200, json{{"redriven", redriven->size()}, {"ids", out_ids}}.dump());
}

}  // namespace

asio::awaitable<absl::Status> RelayEvents(net::StreamWriter& writer, async::Subscription& sub,
                                          std::function<bool(const bus::Event&)> stop) {
  for (;;) {
    auto next = co_await sub.Next(kHeartbeat);
    if (!next.ok()) {
      (void)co_await writer.Comment(std::string(next.status().message()));
      co_return absl::OkStatus();
    }
    if (!next->has_value()) {
      if (!(co_await writer.Comment("keep-alive")).ok()) co_return absl::OkStatus();
      continue;
    }
    const bus::Event& e = **next;
    if (!(co_await writer.Event(e.type, e.body, std::to_string(e.seq))).ok()) {
      co_return absl::OkStatus();
    }
    if (stop && stop(e)) co_return absl::OkStatus();
  }
}

void AddAsyncRoutes(net::Router& router, AsyncApiDeps deps) {
  auto add = [&](std::string_view method, std::string_view pattern, Permission needed, auto fn) {
    router.Add(std::string(method), std::string(pattern),
               [deps, fn](HttpRequest& r) { return fn(r, deps); },
               net::RouteOptions{.permission = needed});
  };
  constexpr Permission kWrite = Permission::kAsyncWrite;
  constexpr Permission kRead = Permission::kAsyncRead;
  add("POST", "/v1/async/invocations", kWrite, Submit);
  add("GET", "/v1/async/invocations", kRead, ListAll);
  add("GET", "/v1/async/invocations/{id}", kRead, GetOne);
  add("POST", "/v1/async/invocations/{id}/cancel", kWrite, CancelOne);
  add("GET", "/v1/async/invocations/{id}/events", kRead, Events);
  add("POST", "/v1/batches", kWrite, SubmitBatch);
  add("GET", "/v1/batches", kRead, ListBatches);
  add("GET", "/v1/batches/{id}", kRead, GetBatch);
  add("GET", "/v1/batches/{id}/output", kRead, BatchOutput);
  add("GET", "/v1/queues/stats", kRead, Stats);
  add("GET", "/v1/dlq", kRead, ListDead);
  add("POST", "/v1/dlq/redrive", Permission::kDlqWrite, Redrive);
}

}  // namespace basalt::api
