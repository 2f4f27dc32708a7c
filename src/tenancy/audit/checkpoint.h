// Signed checkpoints of the audit log's per-tenant hash chains, and the
// Ed25519 keys that sign and verify them.
//
// A checkpoint says "tenant T's chain had entry `seq` with hash `hash` at
// `time_ms`", numbered 1, 2, 3, ... per tenant and signed with an Ed25519 key
// held apart from the data. The signed message also carries `tenants`, the
// number of tenants the log held when it was signed, so deleting a whole
// tenant (entries and checkpoints) is seen by the checkpoints of the others.
//
// Keys: the private key is a PKCS#8 PEM file (mode 0600) and the public key a
// SubjectPublicKeyInfo PEM file. In production the private key belongs on
// another volume or in a secret store, never beside the database: whoever can
// write the database and read the private key can rewrite history and sign it.
// The verifier needs only the public key.
//
// Thread-safety: a CheckpointSigner or CheckpointVerifier is immutable after
// creation and may be used from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct evp_pkey_st;

namespace basalt::audit {

struct Checkpoint {
  std::string tenant;
  int64_t number = 0;  // 1, 2, 3, ... per tenant
  int64_t seq = 0;     // the last entry it covers
  std::string hash;    // that entry's hash (hex)
  int64_t time_ms = 0;
  int64_t tenants = 0;    // tenants in the log when signed
  std::string key_id;     // KeyId() of the signing key (not signed; a hint)
  std::string signature;  // hex Ed25519 signature over CheckpointMessage()
};

// The canonical bytes a checkpoint's signature covers (all fields but key_id
// and signature, length-prefixed as in EntryHash).
std::string CheckpointMessage(const Checkpoint& c);

struct PkeyFree {
  void operator()(evp_pkey_st* key) const;
};
using PkeyPtr = std::unique_ptr<evp_pkey_st, PkeyFree>;

class CheckpointSigner {
 public:
  // Loads the private key at `private_key_path`; when that file is missing,
  // generates a new key there (mode 0600, created exclusively) and writes the
  // public key to `public_key_path`. When the private key exists and the
  // public key file does not, writes it. kFailedPrecondition when the public
  // key file exists but does not match the private key, or exists alone (a
  // new key would orphan the old checkpoints; restore the private key or move
  // the public key away). kInvalidArgument for a file that is not an Ed25519
  // PEM key; kUnavailable when a file cannot be read or written.
  static absl::StatusOr<std::unique_ptr<CheckpointSigner>> LoadOrCreate(
      const std::string& private_key_path, const std::string& public_key_path);

  // Sets c.key_id and c.signature. kInternal when OpenSSL fails.
  absl::Status Sign(Checkpoint& c) const;
  const std::string& key_id() const { return key_id_; }

 private:
  CheckpointSigner(PkeyPtr key, std::string key_id)
      : key_(std::move(key)), key_id_(std::move(key_id)) {}
  PkeyPtr key_;
  std::string key_id_;
};

class CheckpointVerifier {
 public:
  // kNotFound when the file is missing; kInvalidArgument when it is not an
  // Ed25519 public key in PEM.
  static absl::StatusOr<std::unique_ptr<CheckpointVerifier>> Load(const std::string& path);

  // True when c.signature is a valid signature of CheckpointMessage(c).
  bool Verify(const Checkpoint& c) const;
  const std::string& key_id() const { return key_id_; }

 private:
  CheckpointVerifier(PkeyPtr key, std::string key_id)
      : key_(std::move(key)), key_id_(std::move(key_id)) {}
  PkeyPtr key_;
  std::string key_id_;
};

}  // namespace basalt::audit
