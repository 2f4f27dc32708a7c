#include "tenancy/jose/jwt.h"

#include <algorithm>
#include <cctype>

#include "core/strings.h"
#include "tenancy/jose/base64url.h"
#include "tenancy/jose/jws.h"
#include "tenancy/jose/strict_json.h"

namespace basalt::jose {
namespace {

using nlohmann::json;

absl::Status Reject(std::string_view why) { return absl::UnauthenticatedError(ToAbsl(why)); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

absl::Status CheckHeader(const json& header) {
  if (auto it = header.find("typ"); it != header.end()) {
    if (!it->is_string()) return Reject("typ is not a string");
    const std::string& typ = it->get_ref<const std::string&>();
    if (!EqualsIgnoreCase(typ, "JWT") && !EqualsIgnoreCase(typ, "at+jwt") &&
        !EqualsIgnoreCase(typ, "application/at+jwt")) {
      return Reject("typ is not JWT");
    }
  }
  if (auto it = header.find("cty"); it != header.end()) {
    if (!it->is_string()) return Reject("cty is not a string");
    if (EqualsIgnoreCase(it->get_ref<const std::string&>(), "JWT")) {
      return Reject("nested JWTs are not accepted");
    }
  }
  return absl::OkStatus();
}

// A NumericDate member (RFC 7519 section 2): absent -> nullopt; present but
// not a number -> error.
absl::StatusOr<std::optional<double>> NumericDate(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number()) return Reject(StrCat(name, " is not a number"));
  return std::optional<double>(it->get<double>());
}

absl::Status CheckTimes(const json& claims, int64_t now_seconds, std::chrono::seconds leeway) {
  const double now = static_cast<double>(now_seconds);
  const double skew = static_cast<double>(leeway.count());
  absl::StatusOr<std::optional<double>> exp = NumericDate(claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return Reject("token has no exp");
  if (now >= **exp + skew) return Reject("token expired");
  absl::StatusOr<std::optional<double>> nbf = NumericDate(claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && **nbf > now + skew) return Reject("token not yet valid");
  absl::StatusOr<std::optional<double>> iat = NumericDate(claims, "iat");
  if (!iat.ok()) return iat.status();
  if (iat->has_value() && **iat > now + skew) return Reject("token issued in the future");
  return absl::OkStatus();
}

absl::Status CheckIssuerAndAudience(const json& claims, const JwtPolicy& policy) {
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() ||
      iss->get_ref<const std::string&>() != policy.issuer) {
    return Reject("issuer not accepted");
  }
  auto aud = claims.find("aud");
  if (aud == claims.end()) return Reject("token has no audience");
  auto accepted = [&](const json& v) {
    return v.is_string() && std::find(policy.audiences.begin(), policy.audiences.end(),
                                      v.get_ref<const std::string&>()) != policy.audiences.end();
  };
  if (aud->is_string()) {
    if (!accepted(*aud)) return Reject("audience not accepted");
    return absl::OkStatus();
  }
  if (!aud->is_array()) return Reject("aud is not a string or an array");
  bool any = false;
  for (const json& v : *aud) {
    if (!v.is_string()) return Reject("aud holds a non-string");
    if (accepted(v)) any = true;
  }
  return any ? absl::OkStatus() : Reject("audience not accepted");
}

}  // namespace

absl::Status ValidatePolicy(const JwtPolicy& policy) {
  if (policy.issuer.empty()) return absl::FailedPreconditionError("JWT policy: issuer is empty");
  if (policy.audiences.empty()) return absl::FailedPreconditionError("JWT policy: no audience");
  if (policy.algorithms.empty()) return absl::FailedPreconditionError("JWT policy: no algorithm");
  for (Alg a : policy.algorithms) {
    if (!IsJwtAlg(a)) {
      return absl::FailedPreconditionError(StrCat("JWT policy: ", AlgName(a), " is not allowed"));
    }
  }
  if (policy.leeway.count() < 0 || policy.leeway > std::chrono::minutes(10)) {
    return absl::FailedPreconditionError("JWT policy: leeway must be 0..600 s");
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifiedJwt> VerifyJwt(std::string_view token, const KeySet& keys,
                                      const JwtPolicy& policy, int64_t now_unix_seconds) {
  if (token.size() > policy.max_token_bytes) {
    return Reject(StrCat("token is over ", policy.max_token_bytes, " bytes"));
  }
  if (absl::Status s = ValidatePolicy(policy); !s.ok()) return s;
  JwsOptions options;
  options.algorithms = AlgSet::Of(policy.algorithms);
  absl::StatusOr<VerifiedJws> jws = VerifyCompactJws(token, keys, options);
  if (!jws.ok()) return jws.status();
  if (absl::Status s = CheckHeader(jws->header); !s.ok()) return s;
  absl::StatusOr<json> claims = ParseStrictJsonObject(jws->payload, "claims");
  if (!claims.ok()) return Reject(ToStd(claims.status().message()));
  if (absl::Status s = CheckTimes(*claims, now_unix_seconds, policy.leeway); !s.ok()) return s;
  if (absl::Status s = CheckIssuerAndAudience(*claims, policy); !s.ok()) return s;
  VerifiedJwt out;
  out.header = std::move(jws->header);
  out.claims = *std::move(claims);
  out.alg = jws->alg;
  out.kid = jws->kid.value_or("");
  return out;
}

absl::StatusOr<std::string> PeekIssuer(std::string_view token, size_t max_token_bytes) {
  if (token.size() > max_token_bytes) {
    return Reject(StrCat("token is over ", max_token_bytes, " bytes"));
  }
  std::vector<std::string_view> segments = Split(token, '.');
  if (segments.size() != 3) return Reject("token must have exactly three segments");
  absl::StatusOr<std::string> payload = Base64UrlDecode(segments[1], "payload");
  if (!payload.ok()) return Reject(ToStd(payload.status().message()));
  absl::StatusOr<json> claims = ParseStrictJsonObject(*payload, "claims");
  if (!claims.ok()) return Reject(ToStd(claims.status().message()));
  auto iss = claims->find("iss");
  if (iss == claims->end() || !iss->is_string()) return Reject("token has no issuer");
  return iss->get<std::string>();
}

}  // namespace basalt::jose
