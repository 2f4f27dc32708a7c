#include "tenancy/jose/key_set.h"

#include <map>
#include <utility>

#include "core/strings.h"
#include "tenancy/jose/strict_json.h"

namespace basalt::jose {
namespace {

// Kid values come from tokens; keep what goes into messages short.
std::string Quoted(std::string_view kid) {
  constexpr size_t kMax = 64;
  if (kid.size() > kMax) return StrCat("\"", kid.substr(0, kMax), "...\"");
  return StrCat("\"", kid, "\"");
}

std::string KeyLabel(size_t index, const nlohmann::json& jwk) {
  std::string label = StrCat("key ", index);
  if (jwk.is_object()) {
    auto it = jwk.find("kid");
    if (it != jwk.end() && it->is_string()) StrAppend(&label, " (kid ", Quoted(it->get<std::string>()), ")");
  }
  return label;
}

// A string member, or "" when absent or not a string (json::value would throw).
std::string StringMember(const nlohmann::json& jwk, const char* name) {
  if (!jwk.is_object()) return "";
  auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

absl::StatusOr<KeySet> KeySet::ParseJwks(std::string_view text, const JwksOptions& options) {
  if (text.size() > options.max_bytes) {
    return absl::InvalidArgumentError(StrCat("JWKS is over ", options.max_bytes, " bytes"));
  }
  absl::StatusOr<nlohmann::json> doc = ParseStrictJsonObject(text, "JWKS");
  if (!doc.ok()) return doc.status();
  auto keys_it = doc->find("keys");
  if (keys_it == doc->end() || !keys_it->is_array()) {
    return absl::InvalidArgumentError("JWKS has no \"keys\" array");
  }
  if (keys_it->empty()) return absl::InvalidArgumentError("JWKS has no keys");
  if (keys_it->size() > options.max_keys) {
    return absl::InvalidArgumentError(StrCat("JWKS has over ", options.max_keys, " keys"));
  }

  bool has_secret = false, has_public = false;
  for (const nlohmann::json& jwk : *keys_it) {
    if (!jwk.is_object()) continue;
    auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) continue;
    if (*kty == "oct") has_secret = true;
    if (*kty == "RSA" || *kty == "EC" || *kty == "OKP") has_public = true;
  }
  if (has_secret && has_public) {
    return absl::InvalidArgumentError("JWKS mixes secret (oct) keys with public keys");
  }

  AlgSet algs = options.algorithms;
  if (!options.allow_hmac_keys) {
    AlgSet no_hmac;
    for (Alg a : {Alg::kRS256, Alg::kRS384, Alg::kRS512, Alg::kPS256, Alg::kPS384, Alg::kPS512,
                  Alg::kES256, Alg::kES384, Alg::kES512, Alg::kEdDSA}) {
      if (algs.Contains(a)) no_hmac.Add(a);
    }
    algs = no_hmac;
  }

  // Entries sharing a kid and kty are ambiguous (RFC 7517 section 4.5 allows a
  // shared kid only across key types), whatever else is wrong with them.
  std::map<std::pair<std::string, std::string>, int> kid_uses;
  for (const nlohmann::json& jwk : *keys_it) {
    if (!StringMember(jwk, "kid").empty()) {
      kid_uses[{StringMember(jwk, "kid"), StringMember(jwk, "kty")}]++;
    }
  }

  KeySet set;
  for (size_t i = 0; i < keys_it->size(); ++i) {
    const nlohmann::json& jwk = (*keys_it)[i];
    std::string label = KeyLabel(i, jwk);
    if (!StringMember(jwk, "kid").empty() &&
        kid_uses[{StringMember(jwk, "kid"), StringMember(jwk, "kty")}] > 1) {
      set.skipped_.push_back(StrCat(label, ": another key of this kty has the same kid"));
      continue;
    }
    if (!options.allow_hmac_keys && StringMember(jwk, "kty") == "oct") {
      set.skipped_.push_back(StrCat(label, ": oct keys are accepted only from configuration"));
      continue;
    }
    absl::StatusOr<VerifyKey> key = VerifyKey::FromJwk(jwk, algs);
    if (!key.ok()) {
      set.skipped_.push_back(StrCat(label, ": ", ToStd(key.status().message())));
      continue;
    }
    set.keys_.push_back(*std::move(key));
  }

  if (set.keys_.empty()) {
    std::string reasons;
    for (const std::string& r : set.skipped_) StrAppend(&reasons, reasons.empty() ? "" : "; ", r);
    return absl::InvalidArgumentError(StrCat("JWKS has no usable key: ", reasons));
  }
  return set;
}

absl::StatusOr<const VerifyKey*> KeySet::Find(const std::optional<std::string>& kid, Alg alg) const {
  const VerifyKey* only = nullptr;
  int fitting = 0;
  for (const VerifyKey& key : keys_) {
    if (!key.algs().Contains(alg)) continue;
    if (kid && key.kid() == kid) return &key;
    ++fitting;
    only = &key;
  }
  if (fitting == 1 && (!kid || !only->kid())) return only;
  if (!kid) {
    return absl::NotFoundError(
        StrCat("no key for a token without kid: ", fitting, " keys fit ", AlgName(alg)));
  }
  return absl::NotFoundError(StrCat("no key for kid ", Quoted(*kid), " and ", AlgName(alg)));
}

}  // namespace basalt::jose
