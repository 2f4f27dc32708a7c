// AWS Signature Version 4 (AWS4-HMAC-SHA256): building the canonical request,
// the string to sign and the signature, signing a request with an Authorization
// header or as a presigned URL, and parsing raw HTTP/1.1 request text. The
// verifier lives in sigv4_verifier.h.
//
// The canonical form follows the AWS documentation ("Create a signed AWS API
// request") and aws-c-auth's v4 test suite, for every service except S3: the
// raw wire path is URI-encoded once more (the "double encoding" non-S3 services
// use), optionally after removing "." / ".." segments and empty segments; query
// parameters are percent-decoded, re-encoded and sorted; header names are
// lowercased and values trimmed with inner whitespace runs collapsed. S3's
// single-encoding rules (and UNSIGNED-PAYLOAD presigning) are not implemented.
//
// Thread-safety: all functions are pure (no shared state) and safe to call
// concurrently. Hashing and HMAC use OpenSSL 3's EVP interfaces.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
// The longest presigned-URL lifetime AWS accepts (seven days).
inline constexpr std::chrono::seconds kMaxPresignExpiry{604800};

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term credentials
};

struct SigningParams {
  std::string region;
  std::string service;
  std::chrono::system_clock::time_point time;
  // Remove "." and ".." segments and empty segments from the path before encoding it.
  bool normalize_path = true;
  // Header flavour only: add and sign an x-amz-content-sha256 header holding the
  // body's SHA-256 (the canonical request always ends with that hash).
  bool sign_body = true;
  // Send the session token but leave it out of the signature (as AWS IoT wants).
  bool omit_session_token = false;
  // Query flavour: the presigned URL's lifetime, 1 s to kMaxPresignExpiry.
  std::chrono::seconds expires{0};
};

// An HTTP request as SigV4 sees it. Header names keep their case and order;
// repeated headers stay separate entries.
struct SignableRequest {
  std::string method;
  std::string path;   // raw, as on the wire, before '?'
  std::string query;  // raw, after '?', without the '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  bool operator==(const SignableRequest&) const = default;
};

// The intermediate values of one signing, for tests and debugging.
struct SigningDetails {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // lowercase hex
};

// ---- Raw requests (sigv4_request.cc) ----

// Parses HTTP/1.1 request text: request line, header lines, an empty line, body.
// Lines may end in LF or CRLF. The request target may contain spaces (the text
// between the first and the last space of the request line). A header value is
// kept raw: everything after the ':' including leading whitespace; obsolete line
// folding (lines starting with SP or HT) is appended to the value after a '\n'.
// Without an empty line the body is empty.
// Errors: kInvalidArgument naming the malformed line.
absl::StatusOr<SignableRequest> ParseRawRequest(std::string_view text);

// The inverse of ParseRawRequest: "METHOD path[?query] HTTP/1.1", "Name:value"
// lines and an empty line, each ending in `eol`, then the body.
std::string SerializeRequest(const SignableRequest& request, std::string_view eol = "\r\n");

// The values of every header named `name` (ASCII case-insensitive), in order.
std::vector<std::string_view> HeaderValues(const SignableRequest& request, std::string_view name);

// ---- Canonicalisation (sigv4_canonical.cc) ----

// Percent-encodes every byte except A-Z a-z 0-9 - . _ ~ (and '/' when
// `keep_slash`), with uppercase hex digits.
std::string UriEncode(std::string_view bytes, bool keep_slash);
// Decodes %XX escapes; a '%' not followed by two hex digits stays literal, and
// '+' stays '+'.
std::string UriDecode(std::string_view text);

// The canonical URI: `raw_path` (normalized when `normalize`), encoded once more
// with '/' kept. An empty path becomes "/".
std::string CanonicalPath(std::string_view raw_path, bool normalize);

// The canonical query string: each `key=value` pair decoded and re-encoded, then
// sorted by encoded key and value. Pairs whose decoded key is in `excluded_keys`
// are left out (the verifier drops X-Amz-Signature this way).
std::string CanonicalQuery(std::string_view raw_query,
                           std::span<const std::string_view> excluded_keys = {});

// A header value trimmed, with every run of whitespace (SP, HT, CR, LF) inside
// it collapsed to one space.
std::string CanonicalHeaderValue(std::string_view value);

// The lowercase names a signer signs by default: every header in the request
// except hop-by-hop and proxy-rewritten ones (authorization, connection, expect,
// transfer-encoding, upgrade, user-agent, x-amzn-trace-id, sec-websocket-*), and
// x-amz-security-token when `omit_session_token`. Sorted, without duplicates.
std::vector<std::string> DefaultSignedHeaders(const SignableRequest& request,
                                              bool omit_session_token);

// The canonical request: method, canonical path, canonical query (without
// `excluded_query_keys`), the `signed_headers` (lowercase, sorted) each with its
// values joined by ',', the signed header list, and `payload_hash`.
std::string CanonicalRequest(const SignableRequest& request,
                             std::span<const std::string> signed_headers,
                             std::string_view payload_hash, bool normalize_path,
                             std::span<const std::string_view> excluded_query_keys = {});

// ---- Hashes, keys and signatures (sigv4.cc) ----

// Lowercase hex SHA-256 of `data`; empty only if OpenSSL fails.
std::string HexSha256(std::string_view data);

// "20150830T123600Z" for `time` (UTC, truncated to the second).
std::string FormatAmzDate(std::chrono::system_clock::time_point time);
// Parses "yyyymmddThhmmssZ". Errors: kInvalidArgument.
absl::StatusOr<std::chrono::system_clock::time_point> ParseAmzDate(std::string_view text);

// "<yyyymmdd>/<region>/<service>/aws4_request".
std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical_request>".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

// The 32-byte signing key: HMAC chain "AWS4"+secret -> date (yyyymmdd) -> region
// -> service -> "aws4_request". Empty only if OpenSSL fails.
std::string DeriveSigningKey(std::string_view secret_access_key, std::string_view date,
                             std::string_view region, std::string_view service);

// Lowercase hex HMAC-SHA256(signing_key, string_to_sign). Empty only if OpenSSL fails.
std::string Signature(std::string_view signing_key, std::string_view string_to_sign);

// ---- Signing (sigv4.cc) ----

// Signs with an Authorization header. Replaces any Authorization, X-Amz-Date,
// X-Amz-Security-Token and X-Amz-Content-Sha256 headers, then appends
// X-Amz-Security-Token (with a session token), X-Amz-Date, x-amz-content-sha256
// (when `sign_body`) and Authorization.
// Errors: kInvalidArgument for empty or '/'-containing key id, region or service,
// or an empty secret; kInternal if OpenSSL fails.
absl::StatusOr<SigningDetails> SignHeadersWithDetails(SignableRequest& request,
                                                      const AwsCredentials& credentials,
                                                      const SigningParams& params);
absl::Status SignHeaders(SignableRequest& request, const AwsCredentials& credentials,
                         const SigningParams& params);

// Presigns: replaces any X-Amz-{Algorithm,Credential,Date,SignedHeaders,Expires,
// Security-Token,Signature} query parameters, then appends them in that order
// (the token unsigned when `omit_session_token`) with X-Amz-Signature last.
// The payload hash is the body's SHA-256.
// Errors: as SignHeaders, and kInvalidArgument when `params.expires` is outside
// 1 s .. kMaxPresignExpiry.
absl::StatusOr<SigningDetails> PresignQueryWithDetails(SignableRequest& request,
                                                       const AwsCredentials& credentials,
                                                       const SigningParams& params);
absl::Status PresignQuery(SignableRequest& request, const AwsCredentials& credentials,
                          const SigningParams& params);

}  // namespace basalt::sigv4
