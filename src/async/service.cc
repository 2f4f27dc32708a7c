#include "async/service.h"

#include <algorithm>
#include <cmath>

#include "async/records.h"
#include "async/rules.h"
#include "core/ids.h"
#include "core/status.h"
#include "core/strings.h"
#include "models/formats/anthropic_format.h"
#include "models/formats/openai_format.h"

namespace basalt::async {

using nlohmann::json;
namespace asio = boost::asio;

namespace {

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(field, ": ", what));
}

constexpr size_t kMaxMetadataBytes = 16 * 1024;
constexpr size_t kMaxTokenBytes = 256;

// Checks the chat body by parsing it the way the worker will.
absl::Status ValidateChatBody(BodyFormat format, const json& body, std::string_view prefix) {
  absl::StatusOr<models::ChatRequest> parsed =
      format == BodyFormat::kAnthropic
          ? models::anthropic::ParseChatRequest(body, {.require_model = false})
          : models::openai::ParseChatRequest(body);
  if (parsed.ok()) return absl::OkStatus();
  if (prefix.empty()) return parsed.status();
  return absl::InvalidArgumentError(StrCat(prefix, parsed.status().message()));
}

}  // namespace

AsyncService::AsyncService(bus::Bus& bus, AsyncStore& store, BlockingPool& pool,
                           CancelRegistry& cancels,
                           Throughput& throughput, AsyncMetrics& metrics,
                           const AsyncConfig& config, const Clock& clock)
    : bus_(bus),
      store_(store),
      pool_(pool),
      cancels_(cancels),
      throughput_(throughput),
      metrics_(metrics),
      config_(config),
      clock_(clock) {}

absl::StatusOr<SubmitOptions> AsyncService::ParseInvocation(json body) const {
  if (!body.is_object()) return Invalid("body", "must be a JSON object");
  SubmitOptions o;
  o.format = BodyFormat::kOpenAi;
  auto model = body.find("model");
  if (model == body.end() || !model->is_string() || model->get<std::string>().empty()) {
    return Invalid("model", "is required");
  }
  o.model = model->get<std::string>();
  auto messages = body.find("messages");
  if (messages == body.end()) return Invalid("messages", "is required");
  if (!messages->is_array() || messages->empty()) return Invalid("messages", "must be a non-empty array");
  if (auto it = body.find("stream"); it != body.end() && it->is_boolean() && it->get<bool>()) {
    return Invalid("stream", "is not supported for async invocations (watch /events instead)");
  }
  json chat = json::object();
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    json& v = it.value();
    if (key == "client_token") {
      if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > kMaxTokenBytes) {
        return Invalid("client_token", "must be a string of 1 to 256 characters");
      }
      o.client_token = v.get<std::string>();
    } else if (key == "priority") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 9) {
        return Invalid("priority", "must be an integer from 0 to 9");
      }
      o.priority = v.get<int>();
    } else if (key == "callback_url") {
      if (!v.is_string()) return Invalid("callback_url", "must be a string");
      if (auto s = ValidateHttpUrl("callback_url", v.get<std::string>()); !s.ok()) return s;
      o.callback_url = v.get<std::string>();
    } else if (key == "callback_secret") {
      if (!v.is_string()) return Invalid("callback_secret", "must be a string");
      o.callback_secret = v.get<std::string>();
    } else if (key == "metadata") {
      if (!v.is_object()) return Invalid("metadata", "must be a JSON object");
      if (v.dump().size() > kMaxMetadataBytes) return Invalid("metadata", "is larger than 16 KiB");
      o.metadata = v;
    } else if (key != "stream") {
      chat[key] = std::move(v);
    }
  }
  if (!o.callback_secret.empty() && o.callback_url.empty()) {
    return Invalid("callback_secret", "needs a callback_url");
  }
  if (auto s = ValidateChatBody(BodyFormat::kOpenAi, chat, ""); !s.ok()) return s;
  o.body = std::move(chat);
  return o;
}

absl::StatusOr<SubmitOptions> AsyncService::ParseStartAsyncInvoke(const json& body) const {
  if (!body.is_object()) return Invalid("body", "must be a JSON object");
  SubmitOptions o;
  o.format = BodyFormat::kAnthropic;
  auto model = body.find("modelId");
  if (model == body.end() || !model->is_string() || model->get<std::string>().empty()) {
    return Invalid("modelId", "is required");
  }
  o.model = model->get<std::string>();
  auto input = body.find("modelInput");
  if (input == body.end() || !input->is_object()) return Invalid("modelInput", "must be a JSON object");
  if (auto s = ValidateChatBody(BodyFormat::kAnthropic, *input, "modelInput."); !s.ok()) return s;
  o.body = *input;
  if (auto it = body.find("clientRequestToken"); it != body.end()) {
    if (!it->is_string() || it->get<std::string>().empty() || it->get<std::string>().size() > kMaxTokenBytes) {
      return Invalid("clientRequestToken", "must be a string of 1 to 256 characters");
    }
    o.client_token = it->get<std::string>();
  }
  auto out = body.find("outputDataConfig");
  if (out == body.end() || !out->is_object()) return Invalid("outputDataConfig", "is required");
  auto s3 = out->find("s3OutputDataConfig");
  if (s3 == out->end() || !s3->is_object()) {
    return Invalid("outputDataConfig.s3OutputDataConfig", "is required");
  }
  auto uri = s3->find("s3Uri");
  if (uri == s3->end() || !uri->is_string() || uri->get<std::string>().rfind("s3://", 0) != 0) {
    return Invalid("outputDataConfig.s3OutputDataConfig.s3Uri", "must be an s3:// URI");
  }
  o.s3_uri = uri->get<std::string>();
  if (auto tags = body.find("tags"); tags != body.end()) o.metadata = json{{"tags", *tags}};
  return o;
}

bus::NewJob AsyncService::MakeJob(const std::string& tenant, SubmitOptions& o,
                                  json& payload) const {
  // What makes two submissions "the same request" for the client token.
  std::string request_hash =
      o.client_token.empty()
          ? std::string()
          : Sha256Hex(json{{"m", o.model}, {"b", o.body}, {"p", o.priority}}.dump());
  payload = json::object();
  payload["format"] = o.format == BodyFormat::kAnthropic ? "anthropic" : "openai";
  payload["model"] = o.model;
  payload["body"] = std::move(o.body);
  if (!o.client_token.empty()) payload["client_token"] = o.client_token;
  if (!o.callback_url.empty()) payload["callback_url"] = o.callback_url;
  if (!o.callback_secret.empty()) payload["callback_secret"] = o.callback_secret;
  if (o.metadata.is_object()) payload["metadata"] = o.metadata;
  if (!o.s3_uri.empty()) payload["s3_uri"] = o.s3_uri;
  bus::NewJob job;
  job.id = NewId("inv_");
  job.queue = std::string(kGenaiQueue);
  job.tenant = tenant;
  job.idempotency_key = o.client_token;
  job.idempotency_window_ms = config_.idempotency_hours * 3600 * 1000;
  job.priority = o.priority;
  job.max_attempts = static_cast<int>(config_.max_attempts);
  job.request_hash = std::move(request_hash);
  job.payload = payload.dump();
  return job;
}

int64_t AsyncService::Estimate() const {
  const double rate = throughput_.PerSecond();
  const double depth = static_cast<double>(ready_depth_.load());
  if (rate <= 0) return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(depth / 10.0)));
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((depth + 1) / rate)));
}

asio::awaitable<absl::StatusOr<Submitted>> AsyncService::Submit(std::string tenant,
                                                                SubmitOptions options) {
  json payload;
  bus::NewJob job = MakeJob(tenant, options, payload);
  const std::string hash = job.request_hash;
  bus::Job view;
  view.id = job.id;
  view.tenant = tenant;
  view.priority = job.priority;
  view.created_ms = NowMs();
  std::vector<bus::Event> events = {RequestEvent("received", view, payload, view.created_ms)};
  auto r = co_await bus_.Enqueue(std::move(job), std::move(events));
  if (!r.ok()) co_return r.status();
  if (!r->created && r->job.request_hash != hash) {
    co_return WithErrorCode(
        absl::AlreadyExistsError("client_token: already used with a different request"),
        "idempotency_conflict");
  }
  if (r->created) {
    ready_depth_.fetch_add(1, std::memory_order_relaxed);
    metrics_.submitted.With({"invocation"}).Inc();
  }
  co_return Submitted{std::move(r->job), r->created, Estimate()};
}

asio::awaitable<absl::StatusOr<bus::Job>> AsyncService::Get(std::string tenant, std::string id) {
  auto job = co_await bus_.Get(tenant, id);
  if (job.ok() && job->queue != kGenaiQueue) co_return absl::NotFoundError(StrCat("no invocation '", id, "'"));
  if (!job.ok() && job.status().code() == absl::StatusCode::kNotFound) {
    co_return absl::NotFoundError(StrCat("no invocation '", id, "'"));
  }
  co_return job;
}

asio::awaitable<absl::StatusOr<std::vector<bus::Job>>> AsyncService::List(bus::JobFilter filter) {
  co_return co_await bus_.List(std::move(filter));
}

asio::awaitable<absl::StatusOr<bus::Job>> AsyncService::Cancel(std::string tenant, std::string id) {
  auto current = co_await Get(tenant, id);
  if (!current.ok()) co_return current.status();
  if (bus::IsTerminal(current->state)) {
    co_return WithErrorCode(WithHttpStatus(absl::FailedPreconditionError(StrCat(
                                               "invocation '", id, "' has already ended: ",
                                               StatusName(current->state))),
                                           409),
                            "invalid_state");
  }
  bus::Job view = *current;
  view.state = bus::JobState::kCancelled;
  view.error = ErrorJson("cancelled", "cancelled by the client");
  const json payload = PayloadOf(view);
  std::vector<bus::Event> events = {RequestEvent("cancelled", view, payload, NowMs())};
  auto job = co_await bus_.Cancel(tenant, id, view.error, std::move(events));
  if (!job.ok()) {
    if (job.status().code() == absl::StatusCode::kFailedPrecondition) {
      co_return WithErrorCode(
          WithHttpStatus(
              absl::FailedPreconditionError(StrCat("invocation '", id, "' has already ended")),
              409),
          "invalid_state");
    }
    co_return job.status();
  }
  cancels_.Cancel(id);  // interrupt the model call if it runs in this process
  co_return job;
}

}  // namespace basalt::async
