// Rules: named EventBridge patterns with targets (webhook, model, sse), kept
// per tenant in the Store (collection "rules", id = name), and a cache of their
// compiled patterns for the dispatcher. See docs/ASYNC.md for the shapes.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "bus/rules/event_pattern.h"
#include "core/config.h"
#include "store/async_store.h"

namespace basalt::async {

struct RuleTarget {
  std::string type;  // "webhook", "model" or "sse"
  // webhook
  std::string url, secret;
  int max_attempts = 8;
  int64_t max_age_seconds = 3600;
  // model
  std::string model, system, prompt_template;
};

struct Rule {
  std::string name, description, created_at;
  bool enabled = true;
  nlohmann::json event_pattern;  // as given (an object)
  std::optional<bus::EventPattern> pattern;  // compiled event_pattern
  std::vector<RuleTarget> targets;
};

// Validates a rule body; errors name the field ("targets[1].url: ...",
// "event_pattern.detail.total: numeric: ..."). `name_from_path`, when not
// empty, is the name (PUT /v1/rules/{name}).
absl::StatusOr<Rule> ParseRule(const nlohmann::json& body, const AsyncConfig& defaults,
                               std::string_view name_from_path = {});
// The API view: webhook secrets are never shown, only whether one is set.
nlohmann::json RenderRule(const Rule& rule);

// Checks a callback/webhook URL: http or https with a host. Names `field`.
absl::Status ValidateHttpUrl(std::string_view field, std::string_view url);

class RulesCatalog {
 public:
  RulesCatalog(AsyncStore& store, const AsyncConfig& defaults) : store_(store), defaults_(defaults) {}

  // kAlreadyExists when the name is taken (unless `replace`).
  boost::asio::awaitable<absl::StatusOr<Rule>> Put(std::string tenant, Rule rule, bool replace);
  boost::asio::awaitable<absl::StatusOr<Rule>> Get(std::string tenant, std::string name);
  boost::asio::awaitable<absl::Status> Delete(std::string tenant, std::string name);
  boost::asio::awaitable<absl::StatusOr<std::vector<Rule>>> List(std::string tenant);

  // Whether any tenant has a rule (cached for a second).
  boost::asio::awaitable<bool> AnyRules();

  // The tenant's enabled rules, cached for a second (rules change rarely and
  // this process invalidates its cache on every change it makes).
  boost::asio::awaitable<absl::StatusOr<std::shared_ptr<const std::vector<Rule>>>> Active(
      std::string tenant);

 private:
  void Invalidate(const std::string& tenant);
  absl::StatusOr<Rule> FromRecord(const Record& record) const;

  AsyncStore& store_;
  const AsyncConfig defaults_;
  struct Cached {
    std::shared_ptr<const std::vector<Rule>> rules;
    std::chrono::steady_clock::time_point loaded;
  };
  std::mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_;
  bool any_rules_ = true;  // until first counted
  std::chrono::steady_clock::time_point any_counted_{};
};

}  // namespace basalt::async
