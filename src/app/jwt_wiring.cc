#include "app/jwt_wiring.h"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <cstdlib>
#include <map>

#include "core/strings.h"
#include "tenancy/api_keys.h"
#include "tenancy/jose/issuer_verifier.h"
#include "tenancy/jose/jwks_cache.h"

namespace basalt::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

struct ClaimRules {
  std::string tenant_claim = "tenant_id";
  std::string permissions_claim = "permissions";
  std::vector<std::string> default_scopes;
};

class JwtTokenVerifier final : public tenancy::TokenVerifier {
 public:
  JwtTokenVerifier(const Clock& clock, const tenancy::RoleTable& roles)
      : verifier_(clock), roles_(roles) {}

  jose::IssuerVerifier& verifier() { return verifier_; }
  void AddRules(std::string issuer, ClaimRules rules) { rules_[issuer] = std::move(rules); }

  asio::awaitable<absl::StatusOr<tenancy::Principal>> Verify(std::string_view token) const override {
    auto jwt = co_await verifier_.Verify(std::string(token));
    if (!jwt.ok()) co_return jwt.status();
    const std::string iss = jwt->claims.value("iss", "");
    auto rules = rules_.find(iss);
    if (rules == rules_.end()) co_return absl::UnauthenticatedError("token issuer not accepted");
    const json& claims = jwt->claims;
    auto tenant = claims.find(rules->second.tenant_claim);
    if (tenant == claims.end() || !tenant->is_string() || tenant->get<std::string>().empty()) {
      co_return absl::UnauthenticatedError(
          StrCat("token has no '", rules->second.tenant_claim, "' claim naming its tenant"));
    }
    std::vector<std::string> scopes;
    if (auto p = claims.find(rules->second.permissions_claim); p != claims.end()) {
      if (p->is_array()) {
        for (const auto& v : *p) {
          if (v.is_string()) scopes.push_back(v.get<std::string>());
        }
      } else if (p->is_string()) {
        for (std::string_view s : Split(p->get<std::string>(), ' ')) {
          if (!s.empty()) scopes.emplace_back(s);
        }
      }
    } else {
      scopes = rules->second.default_scopes;
    }
    tenancy::Principal out;
    out.tenant = tenant->get<std::string>();
    const std::string sub = claims.value("sub", "");
    out.subject = StrCat("jwt:", iss, "#", sub.substr(0, 128));
    out.key_id = StrCat("jwt_", tenancy::Sha256Hex(StrCat(iss, "#", sub)).substr(0, 16));
    // Tokens never grant admin:tenants unless the issuer's role says so
    // explicitly; unknown scopes are ignored (an IdP sends many).
    out.permissions = roles_.ResolveKnown(scopes);
    co_return out;
  }

 private:
  jose::IssuerVerifier verifier_;
  const tenancy::RoleTable& roles_;
  std::map<std::string, ClaimRules, std::less<>> rules_;
};

absl::Status Bad(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(where, ": ", what));
}

absl::StatusOr<std::vector<std::string>> Strings(const json& v, std::string_view where) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
    return out;
  }
  if (!v.is_array()) return Bad(where, "must be a string or a list of strings");
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) return Bad(StrCat(where, "[", i, "]"), "must be a string");
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

// Whether `url`'s host is a loopback, private or link-local literal or
// "localhost" (names are not resolved here; a name is fetched as given).
bool PrivateHost(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return true;
  std::string host(parsed->host());
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return false;
  if (addr.is_loopback() || addr.is_unspecified()) return true;
  if (addr.is_v4()) {
    const auto b = addr.to_v4().to_bytes();
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 169 && b[1] == 254);
  }
  const auto v6 = addr.to_v6();
  return v6.is_link_local() || v6.is_site_local() || (v6.to_bytes()[0] & 0xfe) == 0xfc;
}

jose::JwksFetcher UrlFetcher(std::string url, const net::ClientSet* clients) {
  return [url = std::move(url), clients]() -> asio::awaitable<absl::StatusOr<std::string>> {
    auto client = co_await clients->Current();
    if (!client.ok()) co_return client.status();
    net::ClientRequest request;
    request.url = url;
    request.headers.emplace_back("Accept", "application/json");
    request.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    auto response = co_await (*client)->Send(std::move(request));
    if (!response.ok()) co_return response.status();
    if (response->status != 200) {
      co_return absl::UnavailableError(StrCat("JWKS fetch from ", url, ": HTTP ", response->status));
    }
    co_return std::move(response->body);
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<tenancy::TokenVerifier>> BuildJwtVerifier(
    const Config& config, const tenancy::RoleTable& roles, const net::ClientSet* clients,
    const Clock& clock) {
  const json& section = config.Section("auth.jwt");
  if (section.is_null()) return std::unique_ptr<tenancy::TokenVerifier>();
  if (!section.is_array() || section.empty()) {
    return Bad("auth.jwt", "must be a list of issuers");
  }
  auto out = std::make_unique<JwtTokenVerifier>(clock, roles);
  for (size_t i = 0; i < section.size(); ++i) {
    const std::string where = StrCat("auth.jwt[", i, "]");
    const json& e = section[i];
    if (!e.is_object()) return Bad(where, "must be a mapping");
    static const std::vector<std::string> kFields = {
        "issuer", "audience", "algorithms", "jwks_url", "jwks_file", "hs256_secret",
        "hs256_secret_env", "allow_loopback", "tenant_claim", "permissions_claim",
        "default_scopes", "leeway_seconds", "max_token_bytes", "jwks_ttl_seconds",
        "jwks_min_refresh_seconds"};
    for (auto it = e.begin(); it != e.end(); ++it) {
      if (std::find(kFields.begin(), kFields.end(), it.key()) == kFields.end()) {
        return Bad(StrCat(where, ".", it.key()), "unknown field");
      }
    }
    jose::Issuer issuer;
    if (!e.contains("issuer") || !e["issuer"].is_string() || e["issuer"].get<std::string>().empty()) {
      return Bad(where + ".issuer", "is required");
    }
    issuer.policy.issuer = e["issuer"].get<std::string>();
    if (!e.contains("audience")) return Bad(where + ".audience", "is required");
    auto aud = Strings(e["audience"], where + ".audience");
    if (!aud.ok()) return aud.status();
    issuer.policy.audiences = *aud;
    if (!e.contains("algorithms")) return Bad(where + ".algorithms", "is required");
    auto algs = Strings(e["algorithms"], where + ".algorithms");
    if (!algs.ok()) return algs.status();
    for (size_t a = 0; a < algs->size(); ++a) {
      auto alg = jose::ParseAlg((*algs)[a]);
      if (!alg || !jose::IsJwtAlg(*alg)) {
        return Bad(StrCat(where, ".algorithms[", a, "]"),
                   StrCat("'", (*algs)[a], "' is not one of RS256, PS256, ES256, EdDSA, HS256"));
      }
      issuer.policy.algorithms.push_back(*alg);
    }
    if (e.contains("leeway_seconds")) {
      if (!e["leeway_seconds"].is_number_integer() || e["leeway_seconds"].get<int64_t>() < 0 ||
          e["leeway_seconds"].get<int64_t>() > 600) {
        return Bad(where + ".leeway_seconds", "must be an integer from 0 to 600");
      }
      issuer.policy.leeway = std::chrono::seconds(e["leeway_seconds"].get<int64_t>());
    }
    if (e.contains("max_token_bytes")) {
      if (!e["max_token_bytes"].is_number_integer() || e["max_token_bytes"].get<int64_t>() < 256 ||
          e["max_token_bytes"].get<int64_t>() > 65536) {
        return Bad(where + ".max_token_bytes", "must be an integer from 256 to 65536");
      }
      issuer.policy.max_token_bytes = e["max_token_bytes"].get<size_t>();
    }
    const jose::AlgSet allowed = jose::AlgSet::Of(issuer.policy.algorithms);
    // HS256: only from a configured secret, never from a key set.
    std::string secret;
    if (e.contains("hs256_secret")) secret = e.value("hs256_secret", "");
    if (e.contains("hs256_secret_env")) {
      const std::string name = e.value("hs256_secret_env", "");
      const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
      if (v == nullptr) return Bad(where + ".hs256_secret_env", StrCat("$", name, " is not set"));
      secret = v;
    }
    if (!secret.empty()) {
      auto key = jose::VerifyKey::Hmac(secret, "", jose::Alg::kHS256);
      if (!key.ok()) return Bad(where + ".hs256_secret", ToStd(key.status().message()));
      issuer.configured = std::make_shared<const jose::KeySet>(
          std::vector<jose::VerifyKey>{*std::move(key)});
    }
    const bool has_url = e.contains("jwks_url"), has_file = e.contains("jwks_file");
    if (has_url && has_file) return Bad(where, "give jwks_url or jwks_file, not both");
    if (has_url || has_file) {
      jose::JwksCacheOptions options;
      options.jwks.algorithms = allowed;
      if (e.contains("jwks_ttl_seconds")) {
        options.ttl = std::chrono::seconds(e.value("jwks_ttl_seconds", int64_t{600}));
      }
      if (e.contains("jwks_min_refresh_seconds")) {
        options.min_refresh_interval =
            std::chrono::seconds(e.value("jwks_min_refresh_seconds", int64_t{30}));
      }
      jose::JwksFetcher fetcher;
      if (has_file) {
        fetcher = jose::FileJwksFetcher(e.value("jwks_file", ""));
      } else {
        const std::string url = e.value("jwks_url", "");
        if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
          return Bad(where + ".jwks_url", "must be an http(s) URL");
        }
        if (PrivateHost(url) && !e.value("allow_loopback", false)) {
          return Bad(where + ".jwks_url",
                     "is a loopback or private address; set allow_loopback: true to allow it");
        }
        if (clients == nullptr) return Bad(where + ".jwks_url", "no HTTP client available");
        fetcher = UrlFetcher(url, clients);
      }
      issuer.jwks = std::make_shared<jose::JwksCache>(std::move(fetcher), options, clock);
    }
    if (issuer.configured == nullptr && issuer.jwks == nullptr) {
      return Bad(where, "needs jwks_url, jwks_file or hs256_secret(_env)");
    }
    ClaimRules rules;
    rules.tenant_claim = e.value("tenant_claim", rules.tenant_claim);
    rules.permissions_claim = e.value("permissions_claim", rules.permissions_claim);
    if (e.contains("default_scopes")) {
      auto scopes = Strings(e["default_scopes"], where + ".default_scopes");
      if (!scopes.ok()) return scopes.status();
      auto resolved = roles.Resolve(*scopes, where + ".default_scopes");
      if (!resolved.ok()) return resolved.status();
      rules.default_scopes = *scopes;
    }
    const std::string name = issuer.policy.issuer;
    if (absl::Status s = out->verifier().AddIssuer(std::move(issuer)); !s.ok()) {
      return Bad(where, ToStd(s.message()));
    }
    out->AddRules(name, std::move(rules));
  }
  return std::unique_ptr<tenancy::TokenVerifier>(std::move(out));
}

}  // namespace basalt::app
