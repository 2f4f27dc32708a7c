// SigV4 hashing, key derivation and the two signing flavours.
#include "net/sigv4.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/strings.h"
#include "net/sigv4_internal.h"

namespace basalt::sigv4 {
namespace {

constexpr size_t kSha256Size = 32;

std::string Hex(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xF];
  }
  return out;
}

// HMAC-SHA256 through EVP_MAC. Returns the 32-byte MAC, or "" if OpenSSL fails
// (only when the default provider is missing or memory runs out).
std::string HmacSha256(std::string_view key, std::string_view data) {
  // Fetched once and kept for the life of the process; EVP_MAC is immutable and
  // safe to share between threads.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return "";
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac),
                                                                &EVP_MAC_CTX_free);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  // EVP_MAC_init treats a null key as "keep the previous key", so an empty key
  // still needs a non-null pointer.
  static constexpr unsigned char kNoKey[1] = {0};
  const auto* key_bytes = key.empty() ? kNoKey : reinterpret_cast<const unsigned char*>(key.data());
  unsigned char out[kSha256Size];
  size_t out_size = 0;
  if (ctx == nullptr || EVP_MAC_init(ctx.get(), key_bytes, key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1 ||
      EVP_MAC_final(ctx.get(), out, &out_size, sizeof(out)) != 1 || out_size != kSha256Size) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(out), kSha256Size);
}

bool HasSlash(std::string_view s) { return s.find('/') != std::string_view::npos; }

absl::Status ValidateSigningInputs(const AwsCredentials& credentials, const SigningParams& params) {
  if (credentials.access_key_id.empty() || HasSlash(credentials.access_key_id)) {
    return absl::InvalidArgumentError("sigv4: access key id must be non-empty without '/'");
  }
  if (credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError("sigv4: secret access key is empty");
  }
  if (params.region.empty() || HasSlash(params.region) || params.service.empty() ||
      HasSlash(params.service)) {
    return absl::InvalidArgumentError("sigv4: region and service must be non-empty without '/'");
  }
  return absl::OkStatus();
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

// Canonical request -> string to sign -> signature, for either flavour.
absl::StatusOr<SigningDetails> Compute(const SignableRequest& request,
                                       const std::vector<std::string>& signed_headers,
                                       std::string_view payload_hash, std::string_view amz_date,
                                       const AwsCredentials& credentials,
                                       const SigningParams& params) {
  SigningDetails details;
  details.canonical_request =
      CanonicalRequest(request, signed_headers, payload_hash, params.normalize_path);
  const std::string scope = CredentialScope(amz_date.substr(0, 8), params.region, params.service);
  details.string_to_sign = StringToSign(amz_date, scope, details.canonical_request);
  const std::string key = DeriveSigningKey(credentials.secret_access_key, amz_date.substr(0, 8),
                                           params.region, params.service);
  details.signature = Signature(key, details.string_to_sign);
  if (key.empty() || details.signature.empty()) {
    return absl::InternalError("sigv4: OpenSSL HMAC-SHA256 failed");
  }
  return details;
}

bool IsPresignKey(std::string_view key) {
  static constexpr std::string_view kKeys[] = {
      "X-Amz-Algorithm", "X-Amz-Credential",     "X-Amz-Date",     "X-Amz-SignedHeaders",
      "X-Amz-Expires",   "X-Amz-Security-Token", "X-Amz-Signature"};
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

void AppendQueryParam(std::string& query, std::string_view key, std::string_view value) {
  if (!query.empty()) query += '&';
  StrAppend(&query, key, "=", UriEncode(value, /*keep_slash=*/false));
}

}  // namespace

std::string HexSha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), md, &size, EVP_sha256(), nullptr) != 1 ||
      size != kSha256Size) {
    return "";
  }
  return Hex(md, size);
}

std::string FormatAmzDate(std::chrono::system_clock::time_point time) {
  using std::chrono::days;
  using std::chrono::seconds;
  const auto secs = std::chrono::floor<seconds>(time);
  const auto day = std::chrono::floor<days>(secs);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(secs - day);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

absl::StatusOr<std::chrono::system_clock::time_point> ParseAmzDate(std::string_view text) {
  const auto malformed = [&] {
    return absl::InvalidArgumentError(
        StrCat("malformed date '", text.substr(0, 32), "'; expected yyyymmddThhmmssZ"));
  };
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return malformed();
  const auto number = [&](size_t pos, size_t len) {
    int value = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4), month = number(4, 2), day = number(6, 2);
  const int hour = number(9, 2), minute = number(11, 2), second = number(13, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) {
    return malformed();
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return malformed();
  return std::chrono::sys_days(ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second);
}

std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service) {
  return StrCat(date, "/", region, "/", service, "/aws4_request");
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return StrCat(kAlgorithm, "\n", amz_date, "\n", scope, "\n", HexSha256(canonical_request));
}

std::string DeriveSigningKey(std::string_view secret_access_key, std::string_view date,
                             std::string_view region, std::string_view service) {
  std::string key = HmacSha256(StrCat("AWS4", secret_access_key), date);
  for (std::string_view part : {region, service, std::string_view("aws4_request")}) {
    if (key.empty()) return "";
    key = HmacSha256(key, part);
  }
  return key;
}

std::string Signature(std::string_view signing_key, std::string_view string_to_sign) {
  const std::string mac = HmacSha256(signing_key, string_to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

absl::StatusOr<SigningDetails> SignHeadersWithDetails(SignableRequest& request,
                                                      const AwsCredentials& credentials,
                                                      const SigningParams& params) {
  if (absl::Status s = ValidateSigningInputs(credentials, params); !s.ok()) return s;
  const std::string payload_hash = HexSha256(request.body);
  if (payload_hash.empty()) return absl::InternalError("sigv4: OpenSSL SHA-256 failed");

  std::erase_if(request.headers, [](const auto& header) {
    const std::string name = internal::AsciiLower(header.first);
    return name == "authorization" || name == "x-amz-date" || name == "x-amz-security-token" ||
           name == "x-amz-content-sha256";
  });
  const std::string amz_date = FormatAmzDate(params.time);
  if (!credentials.session_token.empty()) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  request.headers.emplace_back("X-Amz-Date", amz_date);
  if (params.sign_body) request.headers.emplace_back("x-amz-content-sha256", payload_hash);

  const std::vector<std::string> signed_headers =
      DefaultSignedHeaders(request, params.omit_session_token);
  absl::StatusOr<SigningDetails> details =
      Compute(request, signed_headers, payload_hash, amz_date, credentials, params);
  if (!details.ok()) return details;
  request.headers.emplace_back(
      "Authorization",
      StrCat(kAlgorithm, " Credential=", credentials.access_key_id, "/",
             CredentialScope(amz_date.substr(0, 8), params.region, params.service),
             ", SignedHeaders=", JoinNames(signed_headers), ", Signature=", details->signature));
  return details;
}

absl::Status SignHeaders(SignableRequest& request, const AwsCredentials& credentials,
                         const SigningParams& params) {
  return SignHeadersWithDetails(request, credentials, params).status();
}

absl::StatusOr<SigningDetails> PresignQueryWithDetails(SignableRequest& request,
                                                       const AwsCredentials& credentials,
                                                       const SigningParams& params) {
  if (absl::Status s = ValidateSigningInputs(credentials, params); !s.ok()) return s;
  if (params.expires < std::chrono::seconds(1) || params.expires > kMaxPresignExpiry) {
    return absl::InvalidArgumentError("sigv4: presign expiry must be 1 to 604800 seconds");
  }
  const std::string payload_hash = HexSha256(request.body);
  if (payload_hash.empty()) return absl::InternalError("sigv4: OpenSSL SHA-256 failed");

  std::string query;
  for (std::string_view piece : Split(request.query, '&')) {
    if (piece.empty() || IsPresignKey(UriDecode(piece.substr(0, piece.find('='))))) continue;
    if (!query.empty()) query += '&';
    query += piece;
  }
  const std::string amz_date = FormatAmzDate(params.time);
  const std::vector<std::string> signed_headers = DefaultSignedHeaders(request, false);
  const bool send_token = !credentials.session_token.empty();
  AppendQueryParam(query, "X-Amz-Algorithm", kAlgorithm);
  AppendQueryParam(query, "X-Amz-Credential",
                   StrCat(credentials.access_key_id, "/",
                          CredentialScope(amz_date.substr(0, 8), params.region, params.service)));
  AppendQueryParam(query, "X-Amz-Date", amz_date);
  AppendQueryParam(query, "X-Amz-SignedHeaders", JoinNames(signed_headers));
  AppendQueryParam(query, "X-Amz-Expires", std::to_string(params.expires.count()));
  if (send_token && !params.omit_session_token) {
    AppendQueryParam(query, "X-Amz-Security-Token", credentials.session_token);
  }
  request.query = std::move(query);

  absl::StatusOr<SigningDetails> details =
      Compute(request, signed_headers, payload_hash, amz_date, credentials, params);
  if (!details.ok()) return details;
  if (send_token && params.omit_session_token) {
    AppendQueryParam(request.query, "X-Amz-Security-Token", credentials.session_token);
  }
  AppendQueryParam(request.query, "X-Amz-Signature", details->signature);
  return details;
}

absl::Status PresignQuery(SignableRequest& request, const AwsCredentials& credentials,
                          const SigningParams& params) {
  return PresignQueryWithDetails(request, credentials, params).status();
}

}  // namespace basalt::sigv4
