#include "tenancy/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/strings.h"

namespace basalt::tenancy {

namespace {

constexpr std::string_view kPrefix = "bsk_";
constexpr size_t kIdHex = 16;
constexpr size_t kSecretHex = 64;

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof digest);
}

absl::StatusOr<MintedKey> MintApiKey(std::string_view tenant) {
  unsigned char id[kIdHex / 2];
  unsigned char secret[kSecretHex / 2];
  if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(secret, sizeof secret) != 1) {
    return absl::InternalError("the random number generator failed");
  }
  MintedKey out;
  out.record.id = Hex(id, sizeof id);
  out.record.tenant = std::string(tenant);
  out.key = StrCat(kPrefix, out.record.id, "_", Hex(secret, sizeof secret));
  OPENSSL_cleanse(secret, sizeof secret);
  out.record.hash = Sha256Hex(out.key);
  return out;
}

std::optional<std::string_view> ManagedKeyId(std::string_view presented) {
  if (presented.size() != kPrefix.size() + kIdHex + 1 + kSecretHex) return std::nullopt;
  if (presented.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view id = presented.substr(kPrefix.size(), kIdHex);
  if (presented[kPrefix.size() + kIdHex] != '_') return std::nullopt;
  if (!IsHex(id) || !IsHex(presented.substr(kPrefix.size() + kIdHex + 1))) return std::nullopt;
  return id;
}

bool KeyMatches(std::string_view presented, std::string_view stored_hash) {
  const std::string hash = Sha256Hex(presented);
  return hash.size() == stored_hash.size() &&
         CRYPTO_memcmp(hash.data(), stored_hash.data(), hash.size()) == 0;
}

nlohmann::json ApiKeyToJson(const ApiKeyRecord& k) {
  nlohmann::json out = {{"id", k.id},
                        {"prefix", k.prefix()},
                        {"tenant", k.tenant},
                        {"name", k.name},
                        {"scopes", k.scopes},
                        {"permissions", PermissionNames(k.permissions)},
                        {"created_ms", k.created_ms},
                        {"expires_ms", k.expires_ms == 0 ? nlohmann::json() : nlohmann::json(k.expires_ms)},
                        {"revoked_ms", k.revoked_ms == 0 ? nlohmann::json() : nlohmann::json(k.revoked_ms)}};
  if (!k.rotated_to.empty()) out["rotated_to"] = k.rotated_to;
  out["limits"] = {{"requests_per_minute", k.requests_per_minute},
                   {"tokens_per_minute", k.tokens_per_minute}};
  return out;
}

nlohmann::json ApiKeyToStored(const ApiKeyRecord& k) {
  nlohmann::json out = ApiKeyToJson(k);
  out["hash"] = k.hash;
  out["permission_bits"] = k.permissions;
  return out;
}

absl::StatusOr<ApiKeyRecord> ApiKeyFromStored(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("id") || !doc.contains("hash")) {
    return absl::DataLossError("api key record: missing id or hash");
  }
  ApiKeyRecord k;
  k.id = doc.value("id", "");
  k.tenant = doc.value("tenant", "");
  k.name = doc.value("name", "");
  k.hash = doc.value("hash", "");
  if (auto it = doc.find("scopes"); it != doc.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_string()) k.scopes.push_back(s.get<std::string>());
    }
  }
  k.permissions = doc.value("permission_bits", PermissionSet{0});
  k.created_ms = doc.value("created_ms", int64_t{0});
  if (auto it = doc.find("expires_ms"); it != doc.end() && it->is_number_integer()) {
    k.expires_ms = it->get<int64_t>();
  }
  if (auto it = doc.find("revoked_ms"); it != doc.end() && it->is_number_integer()) {
    k.revoked_ms = it->get<int64_t>();
  }
  k.rotated_to = doc.value("rotated_to", "");
  if (auto it = doc.find("limits"); it != doc.end() && it->is_object()) {
    k.requests_per_minute = it->value("requests_per_minute", int64_t{0});
    k.tokens_per_minute = it->value("tokens_per_minute", int64_t{0});
  }
  return k;
}

}  // namespace basalt::tenancy
