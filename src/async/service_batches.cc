// AsyncService: batches, admin views and custom events.
#include <algorithm>
#include <array>
#include <map>

#include "async/records.h"
#include "async/service.h"
#include "core/ids.h"
#include "core/strings.h"

namespace basalt::async {

using nlohmann::json;
namespace asio = boost::asio;

namespace {
constexpr char kBatches[] = "batches";
constexpr size_t kMaxEventEntries = 100;
constexpr size_t kMaxEventBytes = 256 * 1024;
}  // namespace

asio::awaitable<absl::StatusOr<json>> AsyncService::SubmitBatch(std::string tenant,
                                                                std::string model,
                                                                std::string name,
                                                                std::string_view jsonl) {
  if (model.empty()) co_return absl::InvalidArgumentError("model: is required (query parameter)");
  const std::string batch_id = NewId("batch_");
  std::vector<bus::NewJob> jobs;
  size_t line_no = 0;
  for (std::string_view line : Split(jsonl, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (jobs.size() >= static_cast<size_t>(config_.max_batch_records)) {
      co_return absl::InvalidArgumentError(
          StrCat("body: more than ", config_.max_batch_records, " records (async.max_batch_records)"));
    }
    const json record = json::parse(line, nullptr, false);
    auto bad = [&](std::string_view what) {
      return absl::InvalidArgumentError(StrCat("line ", line_no, ": ", what));
    };
    if (!record.is_object()) co_return bad("not a JSON object");
    auto id = record.find("recordId");
    if (id == record.end() || !id->is_string() || id->get<std::string>().empty()) {
      co_return bad("recordId: is required");
    }
    auto input = record.find("modelInput");
    if (input == record.end() || !input->is_object()) co_return bad("modelInput: must be an object");
    SubmitOptions o;
    o.model = model;
    o.format = input->contains("anthropic_version") || !input->contains("model")
                   ? BodyFormat::kAnthropic
                   : BodyFormat::kOpenAi;
    absl::StatusOr<SubmitOptions> checked =
        o.format == BodyFormat::kAnthropic
            ? ParseStartAsyncInvoke(json{{"modelId", model},
                                         {"modelInput", *input},
                                         {"outputDataConfig",
                                          {{"s3OutputDataConfig", {{"s3Uri", "s3://batch/"}}}}}})
            : ParseInvocation(*input);
    if (!checked.ok()) co_return bad(ToStd(checked.status().message()));
    o.body = std::move(checked->body);
    json payload;
    bus::NewJob job = MakeJob(tenant, o, payload);
    payload["batch_id"] = batch_id;
    payload["record_id"] = *id;
    payload["model_input"] = *input;
    job.payload = payload.dump();
    job.group_id = batch_id;
    job.group_seq = static_cast<int64_t>(jobs.size());
    jobs.push_back(std::move(job));
  }
  if (jobs.empty()) co_return absl::InvalidArgumentError("body: no records (JSONL, one per line)");
  const int64_t now = NowMs();
  json meta = {{"batch_id", batch_id}, {"model", model},          {"name", name},
               {"total", jobs.size()}, {"created_at", IsoTime(now)}};
  auto stored = co_await store_.Create(tenant, kBatches, batch_id, meta.dump());
  if (!stored.ok()) co_return stored.status();
  std::vector<bus::Event> events;
  events.reserve(jobs.size());
  for (const bus::NewJob& j : jobs) {
    bus::Job view;
    view.id = j.id;
    view.tenant = tenant;
    view.created_ms = now;
    events.push_back(RequestEvent("received", view, json::parse(j.payload, nullptr, false), now));
  }
  const size_t total = jobs.size();
  auto r = co_await bus_.EnqueueMany(std::move(jobs), std::move(events));
  if (!r.ok()) {
    (void)co_await store_.Delete(tenant, kBatches, batch_id);
    co_return r.status();
  }
  metrics_.submitted.With({"batch_record"}).Inc(static_cast<double>(total));
  ready_depth_.fetch_add(static_cast<int64_t>(total), std::memory_order_relaxed);
  co_return co_await GetBatch(tenant, batch_id);
}

asio::awaitable<absl::StatusOr<json>> AsyncService::GetBatch(std::string tenant,
                                                             std::string batch_id) {
  auto record = co_await store_.Get(tenant, kBatches, batch_id);
  if (!record.ok()) {
    if (record.status().code() == absl::StatusCode::kNotFound) {
      co_return absl::NotFoundError(StrCat("no batch '", batch_id, "'"));
    }
    co_return record.status();
  }
  json meta = json::parse(record->body, nullptr, false);
  auto jobs = co_await bus_.ListGroup(tenant, batch_id);
  if (!jobs.ok()) co_return jobs.status();
  json counts = {{"total", jobs->size()}, {"queued", 0},  {"processing", 0},
                 {"completed", 0},        {"failed", 0},  {"cancelled", 0}};
  int64_t last_finished = 0;
  size_t ended = 0;
  for (const bus::Job& j : *jobs) {
    const std::string status(StatusName(j.state));
    counts[status] = counts[status].get<int64_t>() + 1;
    if (bus::IsTerminal(j.state)) {
      ++ended;
      last_finished = std::max(last_finished, j.finished_ms);
    }
  }
  const bool done = ended == jobs->size();
  co_return json{{"batch_id", batch_id},
                 {"object", "batch"},
                 {"model", meta.value("model", "")},
                 {"name", meta.value("name", "")},
                 {"status", done ? "completed" : "in_progress"},
                 {"created_at", meta.value("created_at", "")},
                 {"completed_at", done && last_finished > 0 ? json(IsoTime(last_finished)) : json(nullptr)},
                 {"counts", counts}};
}

asio::awaitable<absl::StatusOr<std::string>> AsyncService::BatchOutput(std::string tenant,
                                                                      std::string batch_id) {
  auto exists = co_await store_.Get(tenant, kBatches, batch_id);
  if (!exists.ok()) co_return absl::NotFoundError(StrCat("no batch '", batch_id, "'"));
  auto jobs = co_await bus_.ListGroup(tenant, batch_id);
  if (!jobs.ok()) co_return jobs.status();
  // Up to async.max_batch_records JSON parses and renders: not on an io thread.
  auto render = [jobs = *std::move(jobs)]() -> absl::StatusOr<std::string> {
    std::string out;
    for (const bus::Job& j : jobs) {
      if (!bus::IsTerminal(j.state)) continue;
      const json payload = PayloadOf(j);
      json line = {{"recordId", payload.value("record_id", "")},
                   {"modelInput", payload.contains("model_input") ? payload["model_input"] : json()}};
      if (j.state == bus::JobState::kSucceeded) {
        line["modelOutput"] = json::parse(j.result, nullptr, false);
      } else {
        const json error = json::parse(j.error, nullptr, false);
        line["error"] = {{"errorCode", error.is_object() ? error.value("code", "failed") : "failed"},
                         {"errorMessage", error.is_object() ? error.value("message", "") : ""}};
      }
      out += line.dump();
      out += '\n';
    }
    return out;
  };
  co_return co_await pool_.Run(std::move(render));
}

asio::awaitable<absl::StatusOr<json>> AsyncService::ListBatches(std::string tenant,
                                                               std::string after, int limit) {
  auto page = co_await store_.List(tenant, kBatches, after, limit);
  if (!page.ok()) co_return page.status();
  json data = json::array();
  for (const Record& r : page->records) {
    json meta = json::parse(r.body, nullptr, false);
    if (meta.is_object()) data.push_back(meta);
  }
  co_return json{{"object", "list"},
                 {"data", data},
                 {"has_more", !page->next_cursor.empty()},
                 {"next_cursor", page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor)}};
}

void AsyncService::RefreshGauges(const std::vector<bus::QueueStats>& stats) {
  std::map<std::string, std::array<int64_t, 4>> per_queue;
  std::map<std::string, int64_t> oldest;
  const int64_t now = NowMs();
  int64_t genai_ready = 0;
  for (const auto& s : stats) {
    auto& q = per_queue[s.queue];
    q[0] += s.ready;
    q[1] += s.delayed;
    q[2] += s.leased;
    q[3] += s.dead;
    if (s.queue == kGenaiQueue) genai_ready += s.ready;
    if (s.oldest_ready_ms > 0) {
      const int64_t age = now - s.oldest_ready_ms;
      oldest[s.queue] = std::max(oldest[s.queue], age);
    }
  }
  for (std::string_view queue : {kGenaiQueue, kWebhookQueue}) {
    const auto& q = per_queue[std::string(queue)];
    metrics_.depth.With({queue, "ready"}).Set(static_cast<double>(q[0]));
    metrics_.depth.With({queue, "delayed"}).Set(static_cast<double>(q[1]));
    metrics_.depth.With({queue, "leased"}).Set(static_cast<double>(q[2]));
    metrics_.depth.With({queue, "dead"}).Set(static_cast<double>(q[3]));
    metrics_.oldest.With({queue}).Set(static_cast<double>(oldest[std::string(queue)]) / 1000.0);
  }
  ready_depth_.store(genai_ready, std::memory_order_relaxed);
}

asio::awaitable<absl::StatusOr<json>> AsyncService::QueueStats(std::string tenant) {
  auto stats = co_await bus_.Stats(tenant);
  if (!stats.ok()) co_return stats.status();
  const int64_t now = NowMs();
  json queues = json::array();
  for (const auto& s : *stats) {
    queues.push_back({{"queue", s.queue},
                      {"tenant", s.tenant},
                      {"ready", s.ready},
                      {"delayed", s.delayed},
                      {"in_flight", s.leased},
                      {"dead", s.dead},
                      {"depth", s.ready + s.delayed},
                      {"oldest_age_seconds",
                       s.oldest_ready_ms > 0 ? (now - s.oldest_ready_ms) / 1000.0 : 0.0}});
  }
  co_return json{{"queues", queues}};
}

asio::awaitable<absl::StatusOr<std::vector<bus::Job>>> AsyncService::Redrive(
    std::string tenant, std::string queue, std::vector<std::string> ids, int limit) {
  if (queue != kGenaiQueue && queue != kWebhookQueue) {
    co_return absl::InvalidArgumentError("queue: must be \"genai\" or \"webhooks\"");
  }
  if (limit < 1 || limit > 10000) co_return absl::InvalidArgumentError("limit: must be 1 to 10000");
  const int64_t now = NowMs();
  bus::LeaseEvents on_redrive;
  if (queue == kGenaiQueue) {
    on_redrive = [now](const bus::Job& job) {
      return std::vector<bus::Event>{RequestEvent("received", job, PayloadOf(job), now)};
    };
  }
  co_return co_await bus_.Redrive(tenant, queue, std::move(ids), limit, on_redrive);
}

asio::awaitable<absl::StatusOr<json>> AsyncService::PutEvents(std::string tenant,
                                                             const json& body) {
  auto entries = body.is_object() ? body.find("entries") : body.end();
  if (!body.is_object() || entries == body.end() || !entries->is_array() || entries->empty()) {
    co_return absl::InvalidArgumentError("entries: must be a non-empty array");
  }
  if (entries->size() > kMaxEventEntries) co_return absl::InvalidArgumentError("entries: at most 100");
  std::vector<bus::Event> events;
  json ids = json::array();
  for (size_t i = 0; i < entries->size(); ++i) {
    const json& e = (*entries)[i];
    const std::string field = StrCat("entries[", i, "]");
    if (!e.is_object()) co_return absl::InvalidArgumentError(StrCat(field, ": must be an object"));
    auto source = e.find("source");
    if (source == e.end() || !source->is_string() || source->get<std::string>().empty()) {
      co_return absl::InvalidArgumentError(StrCat(field, ".source: is required"));
    }
    if (source->get<std::string>().rfind("basalt.", 0) == 0) {
      co_return absl::InvalidArgumentError(StrCat(field, ".source: \"basalt.\" sources are reserved"));
    }
    auto type = e.find("detail-type");
    if (type == e.end()) type = e.find("detail_type");
    if (type == e.end() || !type->is_string() || type->get<std::string>().empty()) {
      co_return absl::InvalidArgumentError(StrCat(field, ".detail-type: is required"));
    }
    json detail = e.contains("detail") ? e["detail"] : json::object();
    if (detail.is_string()) detail = json::parse(detail.get<std::string>(), nullptr, false);
    if (!detail.is_object()) {
      co_return absl::InvalidArgumentError(StrCat(field, ".detail: must be a JSON object"));
    }
    bus::Event event = CustomEvent(tenant, source->get<std::string>(), type->get<std::string>(),
                                   std::move(detail), NowMs());
    if (event.body.size() > kMaxEventBytes) {
      co_return absl::InvalidArgumentError(StrCat(field, ": larger than 256 KiB"));
    }
    ids.push_back({{"event_id", event.id}});
    events.push_back(std::move(event));
  }
  absl::Status s = co_await bus_.Publish(std::move(events));
  if (!s.ok()) co_return s;
  co_return json{{"failed_entry_count", 0}, {"entries", ids}};
}

}  // namespace basalt::async
