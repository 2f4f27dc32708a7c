#include "tenancy/tenant.h"

#include <cmath>

#include "core/strings.h"

namespace basalt::tenancy {

using nlohmann::json;

namespace {

absl::Status Invalid(std::string_view path, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(path, path.empty() ? "" : ".", field, ": ", what));
}

// Reads an optional non-negative integer member.
absl::Status ReadCount(const json& obj, const char* key, std::string_view path, int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return Invalid(path, key, "must be an integer >= 0 (0: unlimited)");
  }
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

absl::Status CheckKeys(const json& obj, std::string_view path,
                       std::initializer_list<std::string_view> known) {
  if (!obj.is_object()) {
    return absl::InvalidArgumentError(StrCat(path.empty() ? "body" : path, ": must be an object"));
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool found = false;
    for (std::string_view k : known) found = found || k == it.key();
    if (!found) return Invalid(path, it.key(), "unknown field");
  }
  return absl::OkStatus();
}

}  // namespace

bool Tenant::AllowsModel(std::string_view model) const {
  if (allowed_models.empty()) return true;
  for (const std::string& pattern : allowed_models) {
    if (GlobMatch(pattern, model)) return true;
  }
  return false;
}

bool ValidTenantId(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '_') return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<Tenant> ParseTenant(const json& doc, std::string_view path, const Tenant* base) {
  Tenant t = base ? *base : Tenant{};
  if (absl::Status s = CheckKeys(doc, path,
                                 {"name", "status", "models", "limits", "budgets", "region",
                                  "isolation", "guardrail", "source", "created_ms",
                                  "updated_ms"});
      !s.ok()) {
    return s;
  }
  if (auto it = doc.find("name"); it != doc.end()) {
    if (!it->is_string() || !ValidTenantId(it->get<std::string>())) {
      return Invalid(path, "name",
                     "must be 1-64 of A-Z a-z 0-9 _ . - and not start with '_'");
    }
    if (base != nullptr && it->get<std::string>() != base->name) {
      return Invalid(path, "name", "cannot be changed");
    }
    t.name = it->get<std::string>();
  }
  if (t.name.empty()) return Invalid(path, "name", "is required");
  if (auto it = doc.find("status"); it != doc.end()) {
    if (*it == "active") {
      t.status = TenantStatus::kActive;
    } else if (*it == "suspended") {
      t.status = TenantStatus::kSuspended;
    } else {
      return Invalid(path, "status", "must be \"active\" or \"suspended\"");
    }
  }
  if (auto it = doc.find("models"); it != doc.end() && !it->is_null()) {
    const std::string mpath = StrCat(path, path.empty() ? "" : ".", "models");
    if (absl::Status s = CheckKeys(*it, mpath, {"allowed", "default", "max_tokens"}); !s.ok()) {
      return s;
    }
    if (auto a = it->find("allowed"); a != it->end()) {
      if (!a->is_array()) return Invalid(mpath, "allowed", "must be a list of model patterns");
      t.allowed_models.clear();
      for (size_t i = 0; i < a->size(); ++i) {
        const json& v = (*a)[i];
        if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 256) {
          return Invalid(mpath, StrCat("allowed[", i, "]"), "must be a non-empty pattern");
        }
        t.allowed_models.push_back(v.get<std::string>());
      }
    }
    if (auto d = it->find("default"); d != it->end()) {
      if (!d->is_string()) return Invalid(mpath, "default", "must be a model name");
      t.default_model = d->get<std::string>();
    }
    if (absl::Status s = ReadCount(*it, "max_tokens", mpath, &t.max_tokens); !s.ok()) return s;
  }
  if (!t.default_model.empty() && !t.AllowsModel(t.default_model)) {
    return Invalid(path, "models.default", "is not among models.allowed");
  }
  if (auto it = doc.find("limits"); it != doc.end() && !it->is_null()) {
    const std::string lpath = StrCat(path, path.empty() ? "" : ".", "limits");
    if (absl::Status s = CheckKeys(
            *it, lpath, {"requests_per_minute", "tokens_per_minute", "concurrent_requests"});
        !s.ok()) {
      return s;
    }
    for (auto [key, out] : {std::pair{"requests_per_minute", &t.limits.requests_per_minute},
                            std::pair{"tokens_per_minute", &t.limits.tokens_per_minute},
                            std::pair{"concurrent_requests", &t.limits.concurrent_requests}}) {
      if (absl::Status s = ReadCount(*it, key, lpath, out); !s.ok()) return s;
    }
  }
  if (auto it = doc.find("budgets"); it != doc.end() && !it->is_null()) {
    const std::string bpath = StrCat(path, path.empty() ? "" : ".", "budgets");
    if (absl::Status s = CheckKeys(*it, bpath, {"tokens_per_month", "cost_usd_per_month"});
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ReadCount(*it, "tokens_per_month", bpath, &t.budgets.tokens_per_month);
        !s.ok()) {
      return s;
    }
    if (auto c = it->find("cost_usd_per_month"); c != it->end() && !c->is_null()) {
      if (!c->is_number() || c->get<double>() < 0 || c->get<double>() > 1e12) {
        return Invalid(bpath, "cost_usd_per_month", "must be a number >= 0 (0: unlimited)");
      }
      t.budgets.cost_micros_per_month = static_cast<int64_t>(std::llround(c->get<double>() * 1e6));
    }
  }
  if (auto it = doc.find("region"); it != doc.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>().size() > 64) {
      return Invalid(path, "region", "must be a region name such as \"eu-west-1\"");
    }
    t.region = it->get<std::string>();
  }
  if (auto it = doc.find("isolation"); it != doc.end()) {
    if (*it == "pool") {
      t.isolation = Isolation::kPool;
    } else if (*it == "silo") {
      t.isolation = Isolation::kSilo;
    } else {
      return Invalid(path, "isolation", "must be \"pool\" or \"silo\"");
    }
    if (base != nullptr && base->isolation != t.isolation) {
      return Invalid(path, "isolation", "cannot be changed once the tenant exists");
    }
  }
  if (auto it = doc.find("guardrail"); it != doc.end()) {
    if (!it->is_null() && !it->is_object()) {
      return Invalid(path, "guardrail", "must be a guardrail policy object or null");
    }
    t.guardrail = *it;
    t.guardrail_policy = nullptr;
    if (it->is_object()) {
      auto policy = guardrails::Policy::FromJson(*it);
      if (!policy.ok()) {
        // The policy names its field from "guardrail."; put our path in front.
        return absl::InvalidArgumentError(
            StrCat(path, path.empty() ? "" : ".", ToStd(policy.status().message())));
      }
      t.guardrail_policy = std::make_shared<const guardrails::Policy>(*std::move(policy));
    }
  }
  if (auto it = doc.find("source"); it != doc.end() && it->is_string()) {
    t.source = it->get<std::string>();
  }
  if (auto it = doc.find("created_ms"); it != doc.end() && it->is_number_integer()) {
    t.created_ms = it->get<int64_t>();
  }
  if (auto it = doc.find("updated_ms"); it != doc.end() && it->is_number_integer()) {
    t.updated_ms = it->get<int64_t>();
  }
  return t;
}

json TenantToJson(const Tenant& t) {
  json out = {
      {"name", t.name},
      {"status", t.suspended() ? "suspended" : "active"},
      {"models",
       {{"allowed", t.allowed_models}, {"default", t.default_model}, {"max_tokens", t.max_tokens}}},
      {"limits",
       {{"requests_per_minute", t.limits.requests_per_minute},
        {"tokens_per_minute", t.limits.tokens_per_minute},
        {"concurrent_requests", t.limits.concurrent_requests}}},
      {"budgets",
       {{"tokens_per_month", t.budgets.tokens_per_month},
        {"cost_usd_per_month", static_cast<double>(t.budgets.cost_micros_per_month) / 1e6}}},
      {"region", t.region},
      {"isolation", t.isolation == Isolation::kSilo ? "silo" : "pool"},
      {"guardrail", t.guardrail},
      {"source", t.source},
      {"created_ms", t.created_ms},
      {"updated_ms", t.updated_ms},
  };
  return out;
}

}  // namespace basalt::tenancy
