// Managed API keys: minted by the admin API, shown once, stored only as a
// SHA-256 hash. A key is `bsk_<id>_<secret>`: `id` (16 hex digits) is the
// visible prefix support can ask for, `secret` is 256 random bits (64 hex
// digits). A 256-bit random secret needs no slow password hash: SHA-256 of it
// cannot be searched, and the lookup by id plus one constant-time comparison
// keeps verification at a few hundred nanoseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "core/permissions.h"

namespace basalt::tenancy {

struct ApiKeyRecord {
  std::string id;         // the 16 hex digits after "bsk_"
  std::string tenant;
  std::string name;       // the caller's label
  std::string hash;       // lowercase hex SHA-256 of the whole key
  std::vector<std::string> scopes;  // permission or role names, as given
  PermissionSet permissions = 0;    // scopes resolved
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0: never
  int64_t revoked_ms = 0;  // 0: not revoked
  std::string rotated_to;  // id of the key that replaced this one
  int64_t requests_per_minute = 0;  // this key's own limits; 0: only the tenant's
  int64_t tokens_per_minute = 0;

  std::string prefix() const { return "bsk_" + id; }
  bool Usable(int64_t now_ms) const {
    return revoked_ms == 0 && (expires_ms == 0 || now_ms < expires_ms);
  }
};

struct MintedKey {
  std::string key;  // shown once, never stored
  ApiKeyRecord record;
};

// A new key for `tenant`; the record's hash is filled, scopes left to the caller.
absl::StatusOr<MintedKey> MintApiKey(std::string_view tenant);
// The id of a well-formed managed key ("bsk_<16 hex>_<64 hex>"), else nullopt.
std::optional<std::string_view> ManagedKeyId(std::string_view presented);
std::string Sha256Hex(std::string_view data);
// Constant-time comparison of a presented key with a stored hash.
bool KeyMatches(std::string_view presented, std::string_view stored_hash);

nlohmann::json ApiKeyToJson(const ApiKeyRecord& key);  // never includes the hash
nlohmann::json ApiKeyToStored(const ApiKeyRecord& key);  // includes the hash
absl::StatusOr<ApiKeyRecord> ApiKeyFromStored(const nlohmann::json& doc);

}  // namespace basalt::tenancy
