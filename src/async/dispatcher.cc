#include "async/dispatcher.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "async/records.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/strings.h"

namespace basalt::async {

namespace asio = boost::asio;
using nlohmann::json;

namespace {
constexpr char kCursor[] = "dispatcher";
constexpr int kBatch = 512;
constexpr auto kPersistEvery = std::chrono::seconds(1);
constexpr auto kGather = std::chrono::milliseconds(5);
// Rule-created invocations may trigger further rules this many times.
constexpr int kMaxHops = 3;
}  // namespace

void Throughput::Add(int64_t completions, std::chrono::steady_clock::time_point now) {
  const int64_t now_ns = now.time_since_epoch().count();
  int64_t start = window_start_ns_.load();
  if (start == 0) window_start_ns_.compare_exchange_strong(start, now_ns);
  const int64_t count = window_count_.fetch_add(completions) + completions;
  start = window_start_ns_.load();
  const double seconds = static_cast<double>(now_ns - start) / 1e9;
  if (seconds >= 1.0) {
    const double fresh = static_cast<double>(count) / seconds;
    const double old = rate_.load();
    rate_.store(old == 0 ? fresh : 0.5 * old + 0.5 * fresh);
    window_count_.store(0);
    window_start_ns_.store(now_ns);
  }
}

std::string RenderTemplate(std::string_view text, const json& event) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    const json* at = &event;
    for (std::string_view key : Split(text.substr(open + 2, close - open - 2), '.')) {
      if (at == nullptr || !at->is_object()) {
        at = nullptr;
        break;
      }
      auto it = at->find(std::string(key));
      at = it == at->end() ? nullptr : &*it;
    }
    if (at != nullptr) out += at->is_string() ? at->get<std::string>() : at->dump();
    pos = close + 2;
  }
  out.append(text.substr(std::min(pos, text.size())));
  return out;
}

Dispatcher::Dispatcher(bus::Bus& bus, RulesCatalog& rules, EventHub& hub, asio::io_context& io,
                       const AsyncConfig& config, AsyncMetrics& metrics, Throughput& throughput,
                       const Clock& clock)
    : bus_(bus),
      rules_(rules),
      hub_(hub),
      io_(io),
      config_(config),
      metrics_(metrics),
      throughput_(throughput),
      clock_(clock),
      idle_(io) {
  bus_.OnChange([wake = idle_.Waker()](int changes, std::string_view) {
    if ((changes & bus::Bus::kEventsAppended) != 0) wake();
  });
}

void Dispatcher::Start() { asio::co_spawn(io_, Loop(), asio::detached); }

void Dispatcher::Stop() {
  stopping_ = true;
  idle_.Wake();
}

asio::awaitable<void> Dispatcher::Loop() {
  int64_t cursor = 0;
  for (;;) {
    auto stored = co_await bus_.GetCursor(kCursor);
    if (stored.ok()) {
      cursor = *stored;
      break;
    }
    log::Warn("dispatcher: reading its cursor failed; retrying",
              {{"error", std::string(stored.status().message())}});
    co_await idle_.Wait(std::chrono::seconds(1));
  }
  auto persisted_at = std::chrono::steady_clock::now();
  asio::steady_timer gather(io_);
  while (!stopping_.load()) {
    idle_.Reset();
    // Bodies are needed for live subscribers and rules; otherwise only the
    // flagged events (callbacks) carry theirs, which keeps the log read cheap.
    const bool any_rules = co_await rules_.AnyRules();
    bool bodies = any_rules || hub_.Subscribers() > 0;
    auto events = co_await bus_.EventsAfter(cursor, kBatch, bodies);
    if (events.ok() && !events->empty() && !bodies) {
      // A subscriber (or rule) that arrived while the log was being read may
      // be waiting for these very events: its history read came before them.
      const bool rules_now = co_await rules_.AnyRules();
      if (rules_now || hub_.Subscribers() > 0) {
        bodies = true;
        events = co_await bus_.EventsAfter(cursor, kBatch, true);
      }
    }
    if (!events.ok() || events->empty()) {
      if (!events.ok()) {
        log::Warn("dispatcher: reading events failed", {{"error", std::string(events.status().message())}});
      }
      co_await idle_.Wait(std::chrono::milliseconds(config_.poll_interval_ms));
      continue;
    }
    std::vector<bus::NewJob> jobs;
    std::vector<bus::Event> new_events;
    int64_t completions = 0;
    for (const bus::Event& event : *events) {
      if (bodies) hub_.Publish(event);
      if (event.type == "genai.request.completed") ++completions;
      co_await Route(event, jobs, new_events);
    }
    const int64_t last = events->back().seq;
    // Routing an event that produced nothing again after a crash is harmless
    // (live subscribers are gone with the process), so the cursor is written
    // only with deliveries, or once a second.
    const auto now = std::chrono::steady_clock::now();
    const bool persist = !jobs.empty() || !new_events.empty() || now - persisted_at >= kPersistEvery;
    absl::Status s = absl::OkStatus();
    if (persist) {
      s = co_await bus_.AdvanceCursor(kCursor, last, std::move(jobs), std::move(new_events));
      if (s.ok()) persisted_at = now;
    }
    if (!s.ok()) {
      // Nothing was written; the same events are routed again next round.
      log::Warn("dispatcher: advancing failed; will retry", {{"error", std::string(s.message())}});
      co_await idle_.Wait(std::chrono::milliseconds(config_.poll_interval_ms));
      continue;
    }
    cursor = last;
    metrics_.dispatched.With({}).Inc(static_cast<double>(events->size()));
    if (completions > 0) throughput_.Add(completions, now);
    if (static_cast<int>(events->size()) < kBatch) {
      // A short batch: let a few milliseconds of events gather rather than
      // read the log after every commit.
      // Its own timer: wake-ups (which end idle_'s wait) must not cut it short.
      gather.expires_after(kGather);
      co_await gather.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

namespace {

bus::NewJob Delivery(const bus::Event& event, std::string key, std::string url, std::string secret,
                     int max_attempts, int64_t max_age_seconds) {
  bus::NewJob job;
  job.id = NewId("whd_");
  job.queue = std::string(kWebhookQueue);
  job.tenant = event.tenant;
  job.idempotency_key = std::move(key);
  job.idempotency_window_ms = 7LL * 24 * 3600 * 1000;
  job.max_attempts = max_attempts;
  job.payload = json{{"url", std::move(url)},
                     {"secret", std::move(secret)},
                     {"body", event.body},
                     {"event_id", event.id},
                     {"event_type", event.type},
                     {"max_age_ms", max_age_seconds * 1000}}
                    .dump();
  return job;
}

}  // namespace

asio::awaitable<void> Dispatcher::Route(const bus::Event& event, std::vector<bus::NewJob>& jobs,
                                        std::vector<bus::Event>& events) {
  const bool terminal = event.type == "genai.request.completed" ||
                        event.type == "genai.request.failed" ||
                        event.type == "genai.request.cancelled";
  // Most events match nothing: parse the body only when something may use it.
  const bool callback = terminal && (event.flags & bus::Event::kFlagWanted) != 0;
  auto rules = co_await rules_.Active(event.tenant);
  if (!rules.ok()) {
    log::Warn("dispatcher: loading rules failed; event not routed to rules",
              {{"tenant", event.tenant}, {"event", event.id}});
  }
  const bool any_rules = rules.ok() && !(*rules)->empty();
  if (!callback && !any_rules) co_return;
  const json body = json::parse(event.body, nullptr, false);
  if (!body.is_object()) co_return;
  const json& detail = body.contains("detail") ? body["detail"] : body;
  if (callback) {
    auto job = co_await bus_.Get(event.tenant, event.subject);
    if (job.ok()) {
      const json payload = PayloadOf(*job);
      const std::string secret = payload.value("callback_secret", config_.callback_secret);
      jobs.push_back(Delivery(event, StrCat(event.id, "/callback"), payload.value("callback_url", ""),
                              secret, static_cast<int>(config_.webhook_max_attempts),
                              config_.webhook_max_age_seconds));
    }
  }
  if (!any_rules) co_return;
  const int hops = detail.is_object() ? detail.value("hops", 0) : 0;
  for (const Rule& rule : **rules) {
    if (!rule.pattern || !rule.pattern->Matches(body)) continue;
    for (size_t i = 0; i < rule.targets.size(); ++i) {
      const RuleTarget& t = rule.targets[i];
      const std::string key = StrCat(event.id, "/", rule.name, "/", i);
      if (t.type == "webhook") {
        jobs.push_back(Delivery(event, key, t.url, t.secret, t.max_attempts, t.max_age_seconds));
      } else if (t.type == "model" && hops < kMaxHops) {
        const std::string prompt =
            t.prompt_template.empty() ? detail.dump() : RenderTemplate(t.prompt_template, body);
        json messages = json::array();
        if (!t.system.empty()) messages.push_back({{"role", "system"}, {"content", t.system}});
        messages.push_back({{"role", "user"}, {"content", prompt}});
        json payload = {{"format", "openai"},
                        {"model", t.model},
                        {"body", {{"model", t.model}, {"messages", messages}}},
                        {"origin", StrCat("rule:", rule.name)},
                        {"hops", hops + 1},
                        {"metadata", {{"rule", rule.name}, {"source_event", event.id}}}};
        bus::NewJob job;
        job.id = NewId("inv_");
        job.queue = std::string(kGenaiQueue);
        job.tenant = event.tenant;
        job.idempotency_key = key;
        job.max_attempts = static_cast<int>(config_.max_attempts);
        job.payload = payload.dump();
        bus::Job view;
        view.id = job.id;
        view.tenant = job.tenant;
        view.created_ms = UnixMs(clock_.Now());
        bus::Event received = RequestEvent("received", view, payload, view.created_ms);
        jobs.push_back(std::move(job));
        events.push_back(std::move(received));
      }
    }
  }
}

}  // namespace basalt::async
