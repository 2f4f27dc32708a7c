#include "async/rules.h"

#include <boost/url/parse.hpp>

#include "async/records.h"
#include "core/strings.h"

namespace basalt::async {

using nlohmann::json;

namespace {

constexpr char kCollection[] = "rules";
constexpr size_t kMaxTargets = 5;

bool ValidRuleName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(field, ": ", what));
}

absl::StatusOr<RuleTarget> ParseTarget(const json& t, size_t i, const AsyncConfig& defaults) {
  const std::string field = StrCat("targets[", i, "]");
  if (!t.is_object()) return Invalid(field, "must be an object");
  RuleTarget target;
  auto type = t.find("type");
  if (type == t.end() || !type->is_string()) return Invalid(StrCat(field, ".type"), "is required");
  target.type = type->get<std::string>();
  auto str = [&](const char* key, std::string* out, bool required) -> absl::Status {
    auto it = t.find(key);
    if (it == t.end() || it->is_null()) {
      return required ? Invalid(StrCat(field, ".", key), "is required") : absl::OkStatus();
    }
    if (!it->is_string()) return Invalid(StrCat(field, ".", key), "must be a string");
    *out = it->get<std::string>();
    return absl::OkStatus();
  };
  if (target.type == "webhook") {
    if (auto s = str("url", &target.url, true); !s.ok()) return s;
    if (auto s = ValidateHttpUrl(StrCat(field, ".url"), target.url); !s.ok()) return s;
    if (auto s = str("secret", &target.secret, false); !s.ok()) return s;
    target.max_attempts = static_cast<int>(defaults.webhook_max_attempts);
    target.max_age_seconds = defaults.webhook_max_age_seconds;
    if (auto it = t.find("max_attempts"); it != t.end()) {
      if (!it->is_number_integer() || *it < 1 || *it > 100) {
        return Invalid(StrCat(field, ".max_attempts"), "must be an integer from 1 to 100");
      }
      target.max_attempts = it->get<int>();
    }
    if (auto it = t.find("max_age_seconds"); it != t.end()) {
      if (!it->is_number_integer() || *it < 1 || *it > 604800) {
        return Invalid(StrCat(field, ".max_age_seconds"), "must be an integer from 1 to 604800");
      }
      target.max_age_seconds = it->get<int64_t>();
    }
  } else if (target.type == "model") {
    if (auto s = str("model", &target.model, true); !s.ok()) return s;
    if (auto s = str("system", &target.system, false); !s.ok()) return s;
    if (auto s = str("prompt_template", &target.prompt_template, false); !s.ok()) return s;
  } else if (target.type != "sse") {
    return Invalid(StrCat(field, ".type"),
                   StrCat("unknown target type '", target.type, "' (webhook, model or sse)"));
  }
  return target;
}

}  // namespace

absl::Status ValidateHttpUrl(std::string_view field, std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return Invalid(field, "must be an absolute http(s) URL");
  if (parsed->scheme() != "http" && parsed->scheme() != "https") {
    return Invalid(field, "must use http or https");
  }
  if (parsed->host().empty()) return Invalid(field, "must name a host");
  if (parsed->has_userinfo()) return Invalid(field, "must not carry credentials");
  return absl::OkStatus();
}

absl::StatusOr<Rule> ParseRule(const json& body, const AsyncConfig& defaults,
                               std::string_view name_from_path) {
  if (!body.is_object()) return absl::InvalidArgumentError("body: must be a JSON object");
  Rule rule;
  if (!name_from_path.empty()) {
    rule.name = std::string(name_from_path);
  } else {
    auto name = body.find("name");
    if (name == body.end() || !name->is_string()) return Invalid("name", "is required");
    rule.name = name->get<std::string>();
  }
  if (!ValidRuleName(rule.name)) return Invalid("name", "must be 1-64 of A-Z a-z 0-9 _ . -");
  if (auto it = body.find("description"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return Invalid("description", "must be a string");
    rule.description = it->get<std::string>();
  }
  if (auto it = body.find("enabled"); it != body.end()) {
    if (!it->is_boolean()) return Invalid("enabled", "must be true or false");
    rule.enabled = it->get<bool>();
  }
  auto pattern = body.find("event_pattern");
  if (pattern == body.end()) return Invalid("event_pattern", "is required");
  json pattern_json = *pattern;
  if (pattern->is_string()) {
    pattern_json = json::parse(pattern->get<std::string>(), nullptr, false);
    if (pattern_json.is_discarded()) return Invalid("event_pattern", "is not valid JSON");
  }
  auto compiled = bus::EventPattern::FromJson(pattern_json);
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(StrCat("event_pattern.", compiled.status().message()));
  }
  rule.event_pattern = std::move(pattern_json);
  rule.pattern = *std::move(compiled);
  auto targets = body.find("targets");
  if (targets == body.end() || !targets->is_array() || targets->empty()) {
    return Invalid("targets", "must be a non-empty array");
  }
  if (targets->size() > kMaxTargets) return Invalid("targets", "at most 5 targets per rule");
  for (size_t i = 0; i < targets->size(); ++i) {
    auto target = ParseTarget((*targets)[i], i, defaults);
    if (!target.ok()) return target.status();
    rule.targets.push_back(*std::move(target));
  }
  return rule;
}

namespace {

json TargetJson(const RuleTarget& t, bool with_secret) {
  json out = {{"type", t.type}};
  if (t.type == "webhook") {
    out["url"] = t.url;
    out["max_attempts"] = t.max_attempts;
    out["max_age_seconds"] = t.max_age_seconds;
    if (with_secret) {
      out["secret"] = t.secret;
    } else {
      out["secret_set"] = !t.secret.empty();
    }
  } else if (t.type == "model") {
    out["model"] = t.model;
    if (!t.system.empty()) out["system"] = t.system;
    if (!t.prompt_template.empty()) out["prompt_template"] = t.prompt_template;
  }
  return out;
}

json RuleJson(const Rule& rule, bool with_secret) {
  json targets = json::array();
  for (const auto& t : rule.targets) targets.push_back(TargetJson(t, with_secret));
  return {{"name", rule.name},         {"description", rule.description},
          {"enabled", rule.enabled},   {"event_pattern", rule.event_pattern},
          {"targets", targets},        {"created_at", rule.created_at}};
}

}  // namespace

json RenderRule(const Rule& rule) {
  json out = RuleJson(rule, false);
  out["object"] = "rule";
  return out;
}

absl::StatusOr<Rule> RulesCatalog::FromRecord(const Record& record) const {
  json body = json::parse(record.body, nullptr, false);
  auto rule = ParseRule(body, defaults_);
  if (!rule.ok()) return absl::InternalError(StrCat("stored rule '", record.id, "': ", rule.status().message()));
  rule->created_at = body.value("created_at", "");
  return rule;
}

void RulesCatalog::Invalidate(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(tenant);
  any_counted_ = {};
}

boost::asio::awaitable<bool> RulesCatalog::AnyRules() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now - any_counted_ < std::chrono::seconds(1)) co_return any_rules_;
  }
  auto count = co_await store_.AdminCountAllTenants(kCollection);
  std::lock_guard<std::mutex> lock(mu_);
  any_rules_ = !count.ok() || *count > 0;  // unsure: read the bodies
  any_counted_ = now;
  co_return any_rules_;
}

boost::asio::awaitable<absl::StatusOr<Rule>> RulesCatalog::Put(std::string tenant, Rule rule,
                                                              bool replace) {
  if (rule.created_at.empty()) rule.created_at = IsoTime(UnixMs(std::chrono::system_clock::now()));
  const std::string body = RuleJson(rule, true).dump();
  absl::StatusOr<Record> stored = co_await store_.Create(tenant, kCollection, rule.name, body);
  if (!stored.ok() && stored.status().code() == absl::StatusCode::kAlreadyExists && replace) {
    stored = co_await store_.Update(tenant, kCollection, rule.name, body, 0);
  }
  if (!stored.ok()) {
    if (stored.status().code() == absl::StatusCode::kAlreadyExists) {
      co_return absl::AlreadyExistsError(StrCat("name: a rule named '", rule.name, "' exists"));
    }
    co_return stored.status();
  }
  Invalidate(tenant);
  co_return rule;
}

boost::asio::awaitable<absl::StatusOr<Rule>> RulesCatalog::Get(std::string tenant,
                                                              std::string name) {
  auto record = co_await store_.Get(tenant, kCollection, name);
  if (!record.ok()) {
    if (record.status().code() == absl::StatusCode::kNotFound) {
      co_return absl::NotFoundError(StrCat("no rule named '", name, "'"));
    }
    co_return record.status();
  }
  co_return FromRecord(*record);
}

boost::asio::awaitable<absl::Status> RulesCatalog::Delete(std::string tenant, std::string name) {
  absl::Status s = co_await store_.Delete(tenant, kCollection, name);
  Invalidate(tenant);
  if (s.code() == absl::StatusCode::kNotFound) {
    co_return absl::NotFoundError(StrCat("no rule named '", name, "'"));
  }
  co_return s;
}

boost::asio::awaitable<absl::StatusOr<std::vector<Rule>>> RulesCatalog::List(std::string tenant) {
  std::vector<Rule> out;
  std::string after;
  for (;;) {
    auto page = co_await store_.List(tenant, kCollection, after, 1000);
    if (!page.ok()) co_return page.status();
    for (const Record& r : page->records) {
      auto rule = FromRecord(r);
      if (rule.ok()) out.push_back(*std::move(rule));
    }
    if (page->next_cursor.empty()) break;
    after = page->next_cursor;
  }
  co_return out;
}

boost::asio::awaitable<absl::StatusOr<std::shared_ptr<const std::vector<Rule>>>>
RulesCatalog::Active(std::string tenant) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(tenant);
    if (it != cache_.end() && now - it->second.loaded < std::chrono::seconds(1)) {
      co_return it->second.rules;
    }
  }
  auto all = co_await List(tenant);
  if (!all.ok()) co_return all.status();
  auto active = std::make_shared<std::vector<Rule>>();
  for (Rule& r : *all) {
    if (r.enabled) active->push_back(std::move(r));
  }
  std::shared_ptr<const std::vector<Rule>> shared = std::move(active);
  std::lock_guard<std::mutex> lock(mu_);
  cache_[tenant] = Cached{shared, now};
  co_return shared;
}

}  // namespace basalt::async
