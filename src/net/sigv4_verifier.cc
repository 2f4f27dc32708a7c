#include "net/sigv4_verifier.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "net/sigv4_internal.h"

namespace basalt::sigv4 {
namespace {

constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details.";
constexpr std::string_view kInvalidToken = "The security token included in the request is invalid.";

// What a request claims about its signature, from either flavour.
struct Claim {
  bool presigned = false;
  std::string access_key_id, date, region, service;  // the credential scope
  std::string amz_date;
  std::vector<std::string> signed_headers;
  std::string signature;
  std::chrono::seconds expires{0};  // presigned only
  std::optional<std::string> session_token;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsLowerHex(std::string_view s, size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Echoes a client-supplied value in a message, bounded so errors stay small.
std::string_view Clip(std::string_view s) { return s.substr(0, 128); }

absl::Status Malformed(std::string_view what, std::string_view problem) {
  return absl::UnauthenticatedError(StrCat(what, ": ", problem));
}

// "<access key>/<yyyymmdd>/<region>/<service>/aws4_request" into `claim`.
absl::Status ParseCredential(std::string_view credential, std::string_view what, Claim& claim) {
  const std::vector<std::string_view> parts = Split(credential, '/');
  if (parts.size() != 5 || parts[4] != "aws4_request" ||
      std::any_of(parts.begin(), parts.end(), [](std::string_view p) { return p.empty(); })) {
    return Malformed(what, StrCat("malformed credential '", Clip(credential),
                                  "'; expected <access key>/<yyyymmdd>/<region>/<service>/"
                                  "aws4_request"));
  }
  claim.access_key_id = std::string(parts[0]);
  claim.date = std::string(parts[1]);
  claim.region = std::string(parts[2]);
  claim.service = std::string(parts[3]);
  return absl::OkStatus();
}

// HTTP/2 signers (the AWS SDK for JavaScript's NodeHttp2Handler) sign the
// :authority pseudo-header in place of host; the HTTP/2 server passes it on as
// a header of that name.
constexpr std::string_view kAuthority = ":authority";

// "host;x-amz-date": lowercase header names, sorted, unique, including host
// (or :authority), each present in the request.
absl::StatusOr<std::vector<std::string>> ParseSignedHeaders(std::string_view list,
                                                            std::string_view what,
                                                            const SignableRequest& request) {
  std::vector<std::string> names;
  for (std::string_view name : Split(list, ';')) {
    if (!(name == kAuthority || internal::IsToken(name)) || internal::AsciiLower(name) != name ||
        (!names.empty() && names.back() >= name)) {
      return Malformed(what, "must list lowercase header names, sorted and unique");
    }
    if (HeaderValues(request, name).empty()) {
      return Malformed(what, StrCat("signed header '", Clip(name), "' is not in the request"));
    }
    names.emplace_back(name);
  }
  if (!std::binary_search(names.begin(), names.end(), std::string("host")) &&
      (names.empty() || names.front() != kAuthority)) {
    return Malformed(what, "must include host");
  }
  return names;
}

// At most one header named `name`, trimmed.
absl::StatusOr<std::optional<std::string>> SingleHeader(const SignableRequest& request,
                                                        std::string_view name) {
  const std::vector<std::string_view> values = HeaderValues(request, name);
  if (values.size() > 1) return Malformed(name, "more than one header");
  if (values.empty()) return std::optional<std::string>();
  return std::optional<std::string>(CanonicalHeaderValue(values[0]));
}

absl::StatusOr<Claim> ParseAuthorizationHeader(const SignableRequest& request) {
  absl::StatusOr<std::optional<std::string>> header = SingleHeader(request, "Authorization");
  if (!header.ok()) return header.status();
  const std::string_view value = **header;
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm || value.size() == kAlgorithm.size() ||
      value[kAlgorithm.size()] != ' ') {
    return Malformed("Authorization", StrCat("unsupported algorithm; expected ", kAlgorithm));
  }
  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view component : Split(value.substr(kAlgorithm.size() + 1), ',')) {
    component = Trim(component);
    const size_t eq = component.find('=');
    const std::string_view key = component.substr(0, eq);
    std::optional<std::string_view>* slot = key == "Credential"      ? &credential
                                            : key == "SignedHeaders" ? &signed_headers
                                            : key == "Signature"     ? &signature
                                                                     : nullptr;
    if (eq == std::string_view::npos || slot == nullptr) {
      return Malformed("Authorization", StrCat("unexpected component '", Clip(component), "'"));
    }
    if (slot->has_value()) return Malformed("Authorization", StrCat("duplicate ", key));
    *slot = component.substr(eq + 1);
  }
  if (!credential) return Malformed("Authorization", "missing Credential");
  if (!signed_headers) return Malformed("Authorization", "missing SignedHeaders");
  if (!signature) return Malformed("Authorization", "missing Signature");

  Claim claim;
  if (absl::Status s = ParseCredential(*credential, "Authorization: Credential", claim); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<std::string>> names =
      ParseSignedHeaders(*signed_headers, "Authorization: SignedHeaders", request);
  if (!names.ok()) return names.status();
  claim.signed_headers = *std::move(names);
  claim.signature = std::string(*signature);

  absl::StatusOr<std::optional<std::string>> date = SingleHeader(request, "X-Amz-Date");
  if (!date.ok()) return date.status();
  if (!date->has_value()) return Malformed("X-Amz-Date", "missing header");
  claim.amz_date = **date;
  absl::StatusOr<std::optional<std::string>> token = SingleHeader(request, "X-Amz-Security-Token");
  if (!token.ok()) return token.status();
  claim.session_token = *std::move(token);
  return claim;
}

absl::StatusOr<Claim> ParsePresignedQuery(const SignableRequest& request) {
  static constexpr std::string_view kKeys[] = {
      "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",          "X-Amz-SignedHeaders",
      "X-Amz-Expires",   "X-Amz-Signature",  "X-Amz-Security-Token"};
  std::optional<std::string> values[std::size(kKeys)];
  for (std::string_view piece : Split(request.query, '&')) {
    const size_t eq = piece.find('=');
    const std::string key = UriDecode(piece.substr(0, eq));
    const auto* it = std::find(std::begin(kKeys), std::end(kKeys), key);
    if (it == std::end(kKeys)) continue;
    std::optional<std::string>& slot = values[it - std::begin(kKeys)];
    if (slot.has_value()) return Malformed(key, "duplicate query parameter");
    slot = UriDecode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1));
  }
  for (size_t i = 0; i + 1 < std::size(kKeys); ++i) {  // all but the session token
    if (!values[i].has_value()) return Malformed(kKeys[i], "missing query parameter");
  }
  if (*values[0] != kAlgorithm) {
    return Malformed("X-Amz-Algorithm", StrCat("unsupported algorithm; expected ", kAlgorithm));
  }
  Claim claim;
  claim.presigned = true;
  if (absl::Status s = ParseCredential(*values[1], "X-Amz-Credential", claim); !s.ok()) return s;
  claim.amz_date = *values[2];
  absl::StatusOr<std::vector<std::string>> names =
      ParseSignedHeaders(*values[3], "X-Amz-SignedHeaders", request);
  if (!names.ok()) return names.status();
  claim.signed_headers = *std::move(names);
  const std::string& expires = *values[4];
  int64_t seconds = 0;
  for (char c : expires) {
    seconds = (c >= '0' && c <= '9' && seconds <= kMaxPresignExpiry.count())
                  ? seconds * 10 + (c - '0')
                  : kMaxPresignExpiry.count() + 1;
  }
  if (seconds < 1 || seconds > kMaxPresignExpiry.count()) {
    return Malformed("X-Amz-Expires", "must be an integer from 1 to 604800");
  }
  claim.expires = std::chrono::seconds(seconds);
  claim.signature = *values[5];
  claim.session_token = values[6];
  return claim;
}

// The payload hash the canonical request ends with.
absl::StatusOr<std::string> PayloadHash(const SignableRequest& request) {
  absl::StatusOr<std::optional<std::string>> claimed =
      SingleHeader(request, "x-amz-content-sha256");
  if (!claimed.ok()) return claimed.status();
  const std::string actual = HexSha256(request.body);
  if (actual.empty()) return absl::InternalError("sigv4: OpenSSL SHA-256 failed");
  if (!claimed->has_value()) return actual;
  const std::string& value = **claimed;
  if (value == "UNSIGNED-PAYLOAD") return value;
  if (!IsLowerHex(value, 64)) {
    return Malformed("x-amz-content-sha256",
                     "unsupported value; expected the body's SHA-256 or UNSIGNED-PAYLOAD");
  }
  if (value != actual) {
    return absl::PermissionDeniedError(
        "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return actual;
}

// Clock checks: header-signed requests must be within the skew of now;
// presigned URLs must not be from the future (beyond the skew) nor expired.
absl::Status CheckTime(const Claim& claim, std::chrono::system_clock::time_point now,
                       std::chrono::seconds max_skew) {
  absl::StatusOr<std::chrono::system_clock::time_point> signed_at = ParseAmzDate(claim.amz_date);
  if (!signed_at.ok()) return Malformed("X-Amz-Date", ToStd(signed_at.status().message()));
  if (claim.date != claim.amz_date.substr(0, 8)) {
    return Malformed("Credential", StrCat("scope date ", Clip(claim.date),
                                          " does not match X-Amz-Date ", claim.amz_date));
  }
  const std::string server_time = FormatAmzDate(now);
  if (*signed_at > now + max_skew) {
    return absl::PermissionDeniedError(
        StrCat("Signature not yet current: request time too skewed; ", claim.amz_date,
               " is more than ", max_skew.count(), " seconds after server time ", server_time));
  }
  if (claim.presigned) {
    if (now > *signed_at + claim.expires) {
      return absl::PermissionDeniedError(StrCat("Signature expired: presigned URL expired at ",
                                                FormatAmzDate(*signed_at + claim.expires),
                                                "; server time is ", server_time));
    }
  } else if (*signed_at < now - max_skew) {
    return absl::PermissionDeniedError(StrCat("Signature expired: request time too skewed; ",
                                              claim.amz_date, " is more than ", max_skew.count(),
                                              " seconds before server time ", server_time));
  }
  return absl::OkStatus();
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

SigV4Verifier::SigV4Verifier(CredentialLookup lookup, const Clock& clock,
                             std::chrono::seconds max_clock_skew)
    : lookup_(std::move(lookup)), clock_(clock), max_clock_skew_(max_clock_skew) {}

absl::StatusOr<VerifiedIdentity> SigV4Verifier::Verify(const SignableRequest& request) const {
  const bool has_header = !HeaderValues(request, "Authorization").empty();
  bool has_query = false;
  for (std::string_view piece : Split(request.query, '&')) {
    has_query = has_query || UriDecode(piece.substr(0, piece.find('='))) == "X-Amz-Algorithm";
  }
  if (has_header && has_query) {
    return absl::UnauthenticatedError(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
        "Authorization header should be specified");
  }
  if (!has_header && !has_query) return absl::UnauthenticatedError("Missing Authentication Token");

  absl::StatusOr<Claim> claim =
      has_header ? ParseAuthorizationHeader(request) : ParsePresignedQuery(request);
  if (!claim.ok()) return claim.status();
  if (!IsLowerHex(claim->signature, 64)) {
    return Malformed("Signature", "must be 64 lowercase hex digits");
  }
  if (absl::Status s = CheckTime(*claim, clock_.Now(), max_clock_skew_); !s.ok()) return s;
  absl::StatusOr<std::string> payload_hash = PayloadHash(request);
  if (!payload_hash.ok()) return payload_hash.status();

  const std::optional<AwsCredentials> credentials = lookup_(claim->access_key_id);
  if (!credentials.has_value()) return absl::UnauthenticatedError(ToAbsl(kInvalidToken));
  const bool token_ok =
      credentials->session_token.empty()
          ? !claim->session_token.has_value()
          : claim->session_token.has_value() &&
                ConstantTimeEquals(*claim->session_token, credentials->session_token);
  if (!token_ok) return absl::UnauthenticatedError(ToAbsl(kInvalidToken));

  const std::string key =
      DeriveSigningKey(credentials->secret_access_key, claim->date, claim->region, claim->service);
  if (key.empty()) return absl::InternalError("sigv4: OpenSSL HMAC-SHA256 failed");
  const std::string scope = CredentialScope(claim->date, claim->region, claim->service);

  // Signers may or may not normalize the path, and presigners may add the
  // session token after signing; accept any of these canonical forms.
  std::vector<bool> normalize = {true};
  if (CanonicalPath(request.path, true) != CanonicalPath(request.path, false)) {
    normalize.push_back(false);
  }
  static constexpr std::string_view kSignature[] = {"X-Amz-Signature"};
  static constexpr std::string_view kSignatureAndToken[] = {"X-Amz-Signature",
                                                            "X-Amz-Security-Token"};
  std::vector<std::span<const std::string_view>> excluded;  // query keys left out
  if (!claim->presigned) {
    excluded.emplace_back();
  } else {
    excluded.emplace_back(kSignature);
    if (claim->session_token.has_value()) excluded.emplace_back(kSignatureAndToken);
  }

  for (const bool norm : normalize) {
    for (const std::span<const std::string_view> keys : excluded) {
      const std::string canonical =
          CanonicalRequest(request, claim->signed_headers, *payload_hash, norm, keys);
      const std::string expected = Signature(key, StringToSign(claim->amz_date, scope, canonical));
      if (expected.empty()) return absl::InternalError("sigv4: OpenSSL HMAC-SHA256 failed");
      if (ConstantTimeEquals(expected, claim->signature)) {
        return VerifiedIdentity{claim->access_key_id, claim->region, claim->service};
      }
    }
  }
  return absl::PermissionDeniedError(ToAbsl(kSignatureMismatch));
}

}  // namespace basalt::sigv4
