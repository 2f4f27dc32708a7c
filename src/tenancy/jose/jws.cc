#include "tenancy/jose/jws.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/strings.h"
#include "tenancy/jose/base64url.h"
#include "tenancy/jose/strict_json.h"

namespace basalt::jose {
namespace {

using nlohmann::json;

constexpr size_t kMaxJsonSignatures = 16;

absl::Status Reject(std::string_view why) { return absl::UnauthenticatedError(ToAbsl(why)); }

// Any InvalidArgument from a decoder becomes the Unauthenticated reason.
absl::Status AsReject(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnauthenticated ? s : Reject(ToStd(s.message()));
}

bool IsNone(std::string_view alg) {
  if (alg.size() != 4) return false;
  std::string lower(alg);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "none";
}

// Header names RFC 7515 defines; "crit" may not list them (section 4.1.11).
bool IsRegisteredName(std::string_view name) {
  for (std::string_view n : {"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ",
                             "cty", "crit"}) {
    if (n == name) return true;
  }
  return false;
}

struct Header {
  json merged = json::object();
  Alg alg = Alg::kHS256;
  std::optional<std::string> kid;
  bool b64 = true;
};

absl::StatusOr<Header> CheckHeader(json protected_in, const json* unprotected,
                                   const JwsOptions& options) {
  Header h;
  h.merged = std::move(protected_in);
  // The protected members alone: h.merged itself unless an unprotected header
  // is merged in (then a copy is kept; the JSON serialisation only).
  json protected_copy;
  const json* protected_only = &h.merged;
  if (unprotected != nullptr) {
    protected_copy = h.merged;
    protected_only = &protected_copy;
    if (!unprotected->is_object()) return Reject("unprotected header is not an object");
    for (auto it = unprotected->begin(); it != unprotected->end(); ++it) {
      if (h.merged.contains(it.key())) {
        return Reject(StrCat("header member \"", it.key(), "\" is both protected and not"));
      }
      h.merged[it.key()] = it.value();
    }
  }
  const json& m = h.merged;
  auto alg_it = m.find("alg");
  if (alg_it == m.end() || !alg_it->is_string()) return Reject("header has no alg");
  const std::string& alg_name = alg_it->get_ref<const std::string&>();
  if (IsNone(alg_name)) return Reject("alg none is not accepted");
  std::optional<Alg> alg = ParseAlg(alg_name);
  if (!alg) return Reject("unsupported alg");
  if (!options.algorithms.Contains(*alg)) return Reject(StrCat("alg ", alg_name, " is not allowed"));
  h.alg = *alg;
  for (const char* name : {"jku", "x5u", "x5c", "jwk"}) {
    if (m.contains(name)) return Reject(StrCat("header \"", name, "\" is not accepted"));
  }
  if (auto it = m.find("kid"); it != m.end()) {
    if (!it->is_string()) return Reject("kid is not a string");
    h.kid = it->get<std::string>();
  }
  std::vector<std::string> crit;
  if (unprotected != nullptr && unprotected->contains("crit")) {
    return Reject("crit must be in the protected header");
  }
  const json& protected_header = *protected_only;
  if (auto it = protected_header.find("crit"); it != protected_header.end()) {
    if (!it->is_array() || it->empty()) return Reject("crit must be a non-empty array");
    for (const json& name : *it) {
      if (!name.is_string()) return Reject("crit holds a non-string");
      const std::string& n = name.get_ref<const std::string&>();
      if (IsRegisteredName(n) || n != "b64") return Reject("unknown critical header");
      if (!protected_header.contains(n)) return Reject("crit names a header that is not present");
      if (std::find(crit.begin(), crit.end(), n) != crit.end()) return Reject("crit repeats a name");
      crit.push_back(n);
    }
  }
  if (auto it = m.find("b64"); it != m.end()) {
    if (!it->is_boolean()) return Reject("b64 is not a boolean");
    if (std::find(crit.begin(), crit.end(), "b64") == crit.end()) {
      return Reject("b64 must be listed in crit");
    }
    h.b64 = it->get<bool>();
    if (!h.b64 && !options.allow_unencoded_payload) return Reject("unencoded payload is not accepted");
  }
  return h;
}

// One signature: protected header text (base64url, may be empty), optional
// unprotected header, payload as it appears (base64url or raw), signature.
struct Parts {
  std::string_view protected_b64;
  const json* unprotected = nullptr;
  std::string_view payload_text;
  std::string_view signature_b64;
};

absl::StatusOr<VerifiedJws> VerifyParts(const Parts& parts, const KeySet& keys,
                                        const JwsOptions& options,
                                        std::optional<std::string_view> detached) {
  json protected_header = json::object();
  if (!parts.protected_b64.empty()) {
    absl::StatusOr<std::string> text = Base64UrlDecode(parts.protected_b64, "header");
    if (!text.ok()) return AsReject(text.status());
    absl::StatusOr<json> parsed = ParseStrictJsonObject(*text, "header");
    if (!parsed.ok()) return AsReject(parsed.status());
    protected_header = *std::move(parsed);
  } else if (parts.unprotected == nullptr) {
    return Reject("header is missing");
  }
  absl::StatusOr<Header> header =
      CheckHeader(std::move(protected_header), parts.unprotected, options);
  if (!header.ok()) return header.status();

  absl::StatusOr<std::string> signature = Base64UrlDecode(parts.signature_b64, "signature");
  if (!signature.ok()) return AsReject(signature.status());
  if (signature->empty()) return Reject("signature is missing");

  VerifiedJws out;
  // The signing input uses the payload as it travels: base64url text, or the
  // raw bytes when b64 is false (RFC 7797 section 3).
  std::string encoded_detached;  // holds the text payload_for_input views, if encoded here
  std::string_view payload_for_input;
  if (detached) {
    if (!parts.payload_text.empty()) return Reject("payload given twice (detached and inline)");
    out.payload = std::string(*detached);
    if (header->b64) {
      encoded_detached = Base64UrlEncode(*detached);
      payload_for_input = encoded_detached;
    } else {
      payload_for_input = *detached;
    }
  } else if (header->b64) {
    absl::StatusOr<std::string> payload = Base64UrlDecode(parts.payload_text, "payload");
    if (!payload.ok()) return AsReject(payload.status());
    out.payload = *std::move(payload);
    payload_for_input = parts.payload_text;
  } else {
    out.payload = std::string(parts.payload_text);
    payload_for_input = parts.payload_text;
  }
  absl::StatusOr<const VerifyKey*> key = keys.Find(header->kid, header->alg);
  if (!key.ok()) return key.status();
  std::string input;
  input.reserve(parts.protected_b64.size() + 1 + payload_for_input.size());
  input.append(parts.protected_b64).append(1, '.').append(payload_for_input);
  if (absl::Status s = (*key)->Verify(header->alg, input, *signature); !s.ok()) return s;
  out.header = std::move(header->merged);
  out.alg = header->alg;
  out.kid = header->kid;
  return out;
}

}  // namespace

absl::StatusOr<VerifiedJws> VerifyCompactJws(std::string_view jws, const KeySet& keys,
                                             const JwsOptions& options,
                                             std::optional<std::string_view> detached_payload) {
  std::vector<std::string_view> segments = Split(jws, '.');
  if (segments.size() != 3) return Reject("token must have exactly three segments");
  if (segments[0].empty()) return Reject("header is missing");
  Parts parts{segments[0], nullptr, segments[1], segments[2]};
  return VerifyParts(parts, keys, options, detached_payload);
}

absl::StatusOr<VerifiedJws> VerifyJsonJws(std::string_view json_text, const KeySet& keys,
                                          const JwsOptions& options,
                                          std::optional<std::string_view> detached_payload) {
  absl::StatusOr<json> doc = ParseStrictJsonObject(json_text, "JWS");
  if (!doc.ok()) return AsReject(doc.status());
  std::string_view payload;
  if (auto it = doc->find("payload"); it != doc->end()) {
    if (!it->is_string()) return Reject("payload is not a string");
    payload = it->get_ref<const std::string&>();
  } else if (!detached_payload) {
    return Reject("payload is missing");
  }
  std::vector<const json*> signatures;
  if (auto it = doc->find("signatures"); it != doc->end()) {
    if (doc->contains("signature") || doc->contains("protected") || doc->contains("header")) {
      return Reject("JWS mixes general and flattened syntax");
    }
    if (!it->is_array() || it->empty()) return Reject("signatures must be a non-empty array");
    if (it->size() > kMaxJsonSignatures) return Reject("too many signatures");
    for (const json& s : *it) signatures.push_back(&s);
  } else {
    signatures.push_back(&*doc);
  }
  absl::Status first_error, not_found;
  for (const json* entry : signatures) {
    if (!entry->is_object()) return Reject("signature entry is not an object");
    Parts parts;
    parts.payload_text = payload;
    auto prot = entry->find("protected");
    if (prot != entry->end()) {
      if (!prot->is_string() || prot->get_ref<const std::string&>().empty()) {
        return Reject("protected must be a non-empty string");
      }
      parts.protected_b64 = prot->get_ref<const std::string&>();
    }
    if (auto h = entry->find("header"); h != entry->end()) parts.unprotected = &*h;
    auto sig = entry->find("signature");
    if (sig == entry->end() || !sig->is_string()) return Reject("signature is missing");
    parts.signature_b64 = sig->get_ref<const std::string&>();
    absl::StatusOr<VerifiedJws> result = VerifyParts(parts, keys, options, detached_payload);
    if (result.ok()) return result;
    if (result.status().code() == absl::StatusCode::kNotFound) {
      if (not_found.ok()) not_found = result.status();
    } else if (first_error.ok()) {
      first_error = result.status();
    }
  }
  return first_error.ok() ? not_found : first_error;
}

}  // namespace basalt::jose
