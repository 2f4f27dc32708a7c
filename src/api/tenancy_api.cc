#include "api/tenancy_api.h"

#include <charconv>

#include "absl/time/time.h"
#include "api/gateway.h"
#include "core/strings.h"
#include "tenancy/limits/calendar.h"

namespace basalt::api {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;
using Reply = asio::awaitable<absl::StatusOr<HttpResponse>>;

namespace {

json TenantView(const tenancy::Tenant& t, const limits::BudgetLedger* budgets) {
  json out = tenancy::TenantToJson(t);
  if (budgets != nullptr) {
    const limits::BudgetUsage u = budgets->Snapshot(t.name);
    out["budget_usage"] = {{"period_start", limits::FormatUtc(u.month.start_ms)},
                           {"period_end", limits::FormatUtc(u.month.end_ms)},
                           {"spent_tokens", u.spent_tokens},
                           {"spent_usd", static_cast<double>(u.spent_cost_micros) / 1e6},
                           {"reserved_tokens", u.reserved_tokens},
                           {"reserved_usd", static_cast<double>(u.reserved_cost_micros) / 1e6}};
  }
  return out;
}

// A time parameter: unix milliseconds, or RFC 3339 ("2026-12-01T00:00:00Z").
absl::StatusOr<int64_t> TimeParam(const HttpRequest& http, std::string_view name,
                                  int64_t fallback) {
  auto v = http.QueryParam(name);
  if (!v) return fallback;
  int64_t ms = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), ms);
  if (ec == std::errc() && p == v->data() + v->size()) return ms;
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, *v, &t, &err)) return absl::ToUnixMillis(t);
  return absl::InvalidArgumentError(
      StrCat(name, ": expected unix milliseconds or an RFC 3339 time, got '", *v, "'"));
}

absl::StatusOr<int> LimitParam(const HttpRequest& http, int fallback, int max) {
  auto v = http.QueryParam("limit");
  if (!v) return fallback;
  int n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || n < 1 || n > max) {
    return absl::InvalidArgumentError(StrCat("limit: must be an integer from 1 to ", max));
  }
  return n;
}

int64_t NowMs() { return limits::ToUnixMs(std::chrono::system_clock::now()); }

absl::StatusOr<limits::UsageQuery> UsageQueryFrom(const HttpRequest& http, bool admin) {
  limits::UsageQuery q;
  const int64_t now = NowMs();
  auto from = TimeParam(http, "from", limits::UtcMonthOf(now).start_ms);
  if (!from.ok()) return from.status();
  auto to = TimeParam(http, "to", now + limits::kHourMs);
  if (!to.ok()) return to.status();
  if (*to <= *from) return absl::InvalidArgumentError("to: must be after from");
  q.from_ms = *from;
  q.to_ms = *to;
  if (auto b = http.QueryParam("bucket")) {
    if (*b == "hour") {
      q.bucket = limits::UsageBucket::kHour;
    } else if (*b == "day") {
      q.bucket = limits::UsageBucket::kDay;
    } else {
      return absl::InvalidArgumentError("bucket: must be hour or day");
    }
  } else {
    q.bucket = limits::UsageBucket::kDay;
  }
  if (auto g = http.QueryParam("group_by")) {
    for (std::string_view f : Split(*g, ',')) {
      if (f == "model") {
        q.by_model = true;
      } else if (f == "key") {
        q.by_key = true;
      } else if (f == "tenant" && admin) {
        q.by_tenant = true;
      } else if (!f.empty()) {
        return absl::InvalidArgumentError(StrCat("group_by: unknown field '", f, "' (",
                                                 admin ? "tenant, " : "", "key, model)"));
      }
    }
  }
  return q;
}

json UsageJson(const std::vector<limits::UsageRow>& rows, const limits::UsageQuery& q) {
  json data = json::array();
  for (const auto& r : rows) {
    json row = {{"bucket_start", limits::FormatUtc(r.bucket_start_ms)},
                {"requests", r.counters.requests},
                {"input_tokens", r.counters.input_tokens},
                {"output_tokens", r.counters.output_tokens},
                {"cost_usd", static_cast<double>(r.counters.cost_micros) / 1e6},
                {"errors", r.counters.errors}};
    if (q.by_tenant || !r.tenant.empty()) row["tenant"] = r.tenant;
    if (q.by_key) row["key"] = r.key;
    if (q.by_model) row["model"] = r.model;
    data.push_back(std::move(row));
  }
  return json{{"object", "list"},
              {"from", limits::FormatUtc(q.from_ms)},
              {"to", limits::FormatUtc(q.to_ms)},
              {"bucket", q.bucket == limits::UsageBucket::kHour ? "hour" : "day"},
              {"data", std::move(data)}};
}

Reply Usage(HttpRequest& http, TenancyApiDeps deps, bool admin) {
  auto q = UsageQueryFrom(http, admin);
  if (!q.ok()) co_return q.status();
  if (!admin) {
    q->tenant = http.ctx.tenant;
  } else if (auto t = http.QueryParam("tenant")) {
    q->tenant = *t;
  }
  auto fn = [&deps, &q, admin] {
    return admin ? deps.usage->AdminQuery(*q) : deps.usage->Query(*q);
  };
  auto rows = co_await deps.pool->Run(fn);
  if (!rows.ok()) co_return rows.status();
  co_return HttpResponse::Json(200, UsageJson(*rows, *q).dump());
}

json AuditJson(const audit::AuditRecord& r) {
  const audit::AuditEntry& e = r.entry;
  json out = {{"tenant", e.tenant},       {"seq", r.seq},
              {"time", limits::FormatUtc(e.time_ms)},
              {"principal", e.principal}, {"action", e.action},
              {"remote", e.remote_addr},  {"resource", e.resource},
              {"outcome", audit::OutcomeName(e.outcome)},
              {"reason", e.reason},       {"request_id", e.request_id},
              {"hash", r.hash},           {"prev_hash", r.prev_hash}};
  if (!e.detail.empty()) out["detail"] = e.detail;
  return out;
}

Reply Audit(HttpRequest& http, TenancyApiDeps deps, bool admin) {
  auto from = TimeParam(http, "from", 0);
  if (!from.ok()) co_return from.status();
  auto to = TimeParam(http, "to", NowMs() + limits::kHourMs);
  if (!to.ok()) co_return to.status();
  auto limit = LimitParam(http, 100, 1000);
  if (!limit.ok()) co_return limit.status();
  int64_t after = 0;
  if (auto a = http.QueryParam("after")) {
    auto [p, ec] = std::from_chars(a->data(), a->data() + a->size(), after);
    if (ec != std::errc() || p != a->data() + a->size() || after < 0) {
      co_return absl::InvalidArgumentError("after: must be a sequence number");
    }
  }
  std::string tenant = http.ctx.tenant;
  if (admin) {
    auto t = http.QueryParam("tenant");
    if (!t) co_return absl::InvalidArgumentError("tenant: is required (the chain to read)");
    tenant = *t;
  }
  auto fn = [&] { return deps.audit_log->Query(tenant, *from, *to, after, *limit); };
  auto page = co_await deps.pool->Run(fn);
  if (!page.ok()) co_return page.status();
  json data = json::array();
  for (const auto& r : page->records) data.push_back(AuditJson(r));
  json out = {{"object", "list"}, {"tenant", tenant}, {"data", std::move(data)}};
  out["next_after"] = page->next_after_seq ? json(*page->next_after_seq) : json();
  co_return HttpResponse::Json(200, out.dump());
}

Reply CreateTenant(HttpRequest& http, TenancyApiDeps deps) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto t = co_await deps.admin->Create(http.ctx, *std::move(body));
  if (!t.ok()) co_return t.status();
  co_return HttpResponse::Json(201, TenantView(**t, deps.budgets).dump());
}

Reply ListTenants(HttpRequest& http, TenancyApiDeps deps) {
  json data = json::array();
  for (const auto& t : deps.directory->List()) data.push_back(TenantView(*t, deps.budgets));
  co_return HttpResponse::Json(200, json{{"object", "list"}, {"data", data}}.dump());
}

absl::StatusOr<tenancy::TenantPtr> FindTenant(const HttpRequest& http, TenancyApiDeps deps) {
  const std::string_view name = http.Param("tenant");
  tenancy::TenantPtr t = deps.directory->Find(name);
  if (t == nullptr) return absl::NotFoundError(StrCat("no tenant '", name, "'"));
  return t;
}

Reply GetTenant(HttpRequest& http, TenancyApiDeps deps) {
  auto t = FindTenant(http, deps);
  if (!t.ok()) co_return t.status();
  co_return HttpResponse::Json(200, TenantView(**t, deps.budgets).dump());
}

Reply UpdateTenant(HttpRequest& http, TenancyApiDeps deps) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto t = co_await deps.admin->Update(http.ctx, std::string(http.Param("tenant")),
                                       *std::move(body));
  if (!t.ok()) co_return t.status();
  co_return HttpResponse::Json(200, TenantView(**t, deps.budgets).dump());
}

Reply SetStatus(HttpRequest& http, TenancyApiDeps deps, tenancy::TenantStatus status) {
  auto t = co_await deps.admin->SetStatus(http.ctx, std::string(http.Param("tenant")), status);
  if (!t.ok()) co_return t.status();
  co_return HttpResponse::Json(200, TenantView(**t, deps.budgets).dump());
}

Reply DeleteTenant(HttpRequest& http, TenancyApiDeps deps) {
  absl::Status s = co_await deps.admin->Delete(http.ctx, std::string(http.Param("tenant")));
  if (!s.ok()) co_return s;
  co_return HttpResponse::Text(204, "");
}

absl::StatusOr<tenancy::NewKeyOptions> KeyOptions(const json& body) {
  tenancy::NewKeyOptions o;
  if (!body.is_object()) return absl::InvalidArgumentError("body: must be a JSON object");
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "name") {
      if (!v.is_string()) return absl::InvalidArgumentError("name: must be a string");
      o.name = v.get<std::string>();
    } else if (k == "scopes") {
      if (!v.is_array()) return absl::InvalidArgumentError("scopes: must be a list");
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string()) {
          return absl::InvalidArgumentError(StrCat("scopes[", i, "]: must be a string"));
        }
        o.scopes.push_back(v[i].get<std::string>());
      }
    } else if (k == "expires_in_seconds") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1) {
        return absl::InvalidArgumentError("expires_in_seconds: must be a positive integer");
      }
      o.expires_ms = NowMs() + v.get<int64_t>() * 1000;
    } else if (k == "requests_per_minute" || k == "tokens_per_minute") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) {
        return absl::InvalidArgumentError(StrCat(k, ": must be an integer >= 0 (0: unlimited)"));
      }
      (k == "requests_per_minute" ? o.requests_per_minute : o.tokens_per_minute) =
          v.get<int64_t>();
    } else {
      return absl::InvalidArgumentError(StrCat(k, ": unknown field"));
    }
  }
  return o;
}

json MintedJson(const tenancy::MintedKey& k) {
  json out = tenancy::ApiKeyToJson(k.record);
  out["key"] = k.key;  // shown once
  return out;
}

Reply CreateKey(HttpRequest& http, TenancyApiDeps deps) {
  json body = json::object();
  if (!http.body().empty()) {
    auto parsed = ParseBody(http);
    if (!parsed.ok()) co_return parsed.status();
    body = *std::move(parsed);
  }
  auto options = KeyOptions(body);
  if (!options.ok()) co_return options.status();
  auto k = co_await deps.admin->CreateKey(http.ctx, std::string(http.Param("tenant")),
                                          *std::move(options));
  if (!k.ok()) co_return k.status();
  co_return HttpResponse::Json(201, MintedJson(*k).dump());
}

Reply ListKeys(HttpRequest& http, TenancyApiDeps deps) {
  auto t = FindTenant(http, deps);
  if (!t.ok()) co_return t.status();
  json data = json::array();
  for (const auto& k : deps.directory->ListKeys((*t)->name)) data.push_back(tenancy::ApiKeyToJson(*k));
  co_return HttpResponse::Json(200, json{{"object", "list"}, {"data", data}}.dump());
}

Reply RevokeKey(HttpRequest& http, TenancyApiDeps deps) {
  auto k = co_await deps.admin->RevokeKey(http.ctx, std::string(http.Param("tenant")),
                                          std::string(http.Param("id")));
  if (!k.ok()) co_return k.status();
  co_return HttpResponse::Json(200, tenancy::ApiKeyToJson(**k).dump());
}

Reply RotateKey(HttpRequest& http, TenancyApiDeps deps) {
  int64_t grace_ms = 0;
  if (!http.body().empty()) {
    auto body = ParseBody(http);
    if (!body.ok()) co_return body.status();
    if (auto g = body->find("grace_seconds"); g != body->end()) {
      if (!g->is_number_integer() || g->get<int64_t>() < 0 || g->get<int64_t>() > 30 * 86400) {
        co_return absl::InvalidArgumentError("grace_seconds: must be an integer from 0 to 2592000");
      }
      grace_ms = g->get<int64_t>() * 1000;
    }
  }
  auto k = co_await deps.admin->RotateKey(http.ctx, std::string(http.Param("tenant")),
                                          std::string(http.Param("id")), grace_ms);
  if (!k.ok()) co_return k.status();
  co_return HttpResponse::Json(201, MintedJson(*k).dump());
}

Reply WhoAmI(HttpRequest& http, TenancyApiDeps deps) {
  tenancy::TenantPtr t = deps.gate != nullptr ? deps.gate->PolicyFor(http.ctx.tenant)
                                              : deps.directory->Find(http.ctx.tenant);
  if (t == nullptr) co_return absl::NotFoundError("no such tenant");
  json out = TenantView(*t, deps.budgets);
  out["name"] = http.ctx.tenant;
  out["principal"] = {{"subject", http.ctx.principal},
                      {"permissions", PermissionNames(http.ctx.permissions)}};
  co_return HttpResponse::Json(200, out.dump());
}

}  // namespace

void AddTenancyRoutes(net::Router& router, TenancyApiDeps deps) {
  const net::RouteOptions admin{.permission = Permission::kAdminTenants};
  auto add = [&](const char* method, const char* pattern, const net::RouteOptions& options,
                 auto fn) {
    router.Add(method, pattern, [deps, fn](HttpRequest& r) { return fn(r, deps); }, options);
  };
  add("POST", "/v1/admin/tenants", admin, CreateTenant);
  add("GET", "/v1/admin/tenants", admin, ListTenants);
  add("GET", "/v1/admin/tenants/{tenant}", admin, GetTenant);
  add("PATCH", "/v1/admin/tenants/{tenant}", admin, UpdateTenant);
  add("DELETE", "/v1/admin/tenants/{tenant}", admin, DeleteTenant);
  add("POST", "/v1/admin/tenants/{tenant}/suspend", admin, [](HttpRequest& r, TenancyApiDeps d) {
    return SetStatus(r, d, tenancy::TenantStatus::kSuspended);
  });
  add("POST", "/v1/admin/tenants/{tenant}/resume", admin, [](HttpRequest& r, TenancyApiDeps d) {
    return SetStatus(r, d, tenancy::TenantStatus::kActive);
  });
  add("POST", "/v1/admin/tenants/{tenant}/keys", admin, CreateKey);
  add("GET", "/v1/admin/tenants/{tenant}/keys", admin, ListKeys);
  add("POST", "/v1/admin/tenants/{tenant}/keys/{id}/revoke", admin, RevokeKey);
  add("POST", "/v1/admin/tenants/{tenant}/keys/{id}/rotate", admin, RotateKey);
  add("GET", "/v1/admin/usage", admin,
      [](HttpRequest& r, TenancyApiDeps d) { return Usage(r, d, true); });
  add("GET", "/v1/admin/audit", admin,
      [](HttpRequest& r, TenancyApiDeps d) { return Audit(r, d, true); });
  add("GET", "/v1/usage", net::RouteOptions{.permission = Permission::kUsageRead},
      [](HttpRequest& r, TenancyApiDeps d) { return Usage(r, d, false); });
  add("GET", "/v1/audit", net::RouteOptions{.permission = Permission::kAuditRead},
      [](HttpRequest& r, TenancyApiDeps d) { return Audit(r, d, false); });
  add("GET", "/v1/tenant", net::RouteOptions{}, WhoAmI);
}

}  // namespace basalt::api
