// FieldCipher: how a text field is sealed at rest with its tenant's data key.
// A sealed field is "enc1:" + base64(envelope); the associated data binds
// tenant, table, row id and field (crypto/envelope.h), so a value copied to
// another row, field or tenant fails to open. Values without the prefix are
// returned as they are: rows written before encryption was turned on stay
// readable. Empty values stay empty (they hold nothing).
//
// Thread-safety: as crypto::KeyManager (safe from any thread). Sealing for a
// tenant whose data key does not exist yet creates it (one write to keys.db);
// callers create keys up front with EnsureTenant for the tenants they know.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tenancy/crypto/key_manager.h"

namespace basalt::tenancy {

class FieldCipher {
 public:
  explicit FieldCipher(crypto::KeyManager& keys) : keys_(keys) {}

  absl::StatusOr<std::string> Seal(std::string_view tenant, std::string_view table,
                                   std::string_view row, std::string_view field,
                                   std::string_view plaintext) const;
  absl::StatusOr<std::string> Open(std::string_view tenant, std::string_view table,
                                   std::string_view row, std::string_view field,
                                   std::string_view stored) const;
  static bool IsSealed(std::string_view stored);
  crypto::KeyManager& keys() const { return keys_; }

 private:
  crypto::KeyManager& keys_;
};

}  // namespace basalt::tenancy
