// KeyManager: per-tenant AES-256-GCM data keys, wrapped by a key-encryption
// key (kek.h) and kept in keys.db (key_store.h), encrypting and decrypting
// single fields into envelopes (envelope.h).
//
// Keys. Each tenant has numbered data-key versions (1, 2, ...); the newest is
// active and encrypts, older ones only decrypt. A version encrypts at most
// `max_encryptions_per_key` times (random 96-bit nonces stay safe far below
// 2^32 per key); the next encryption after that creates a new version. The
// count survives restarts without a write per encryption: counts are reserved
// in keys.db `counter_block` at a time ahead of use, and a restart resumes
// after the reservation, so a crash can skip counts but never reuse one.
//
// Errors. Decrypt answers kDataLoss "ciphertext does not authenticate" for
// any envelope that is malformed, tampered with, or moved to another tenant,
// table, row, field or key version (kDataLoss, not kPermissionDenied: the
// caller holds the right to read the row; the bytes are what is wrong).
// kNotFound "no data key for tenant ..." when the tenant never had a key;
// kFailedPrecondition "tenant's keys were destroyed" after DestroyTenant,
// for Encrypt and Decrypt alike (a destroyed tenant id stays destroyed).
//
// Thread-safety: every method may be called from any thread at once. Encrypt
// and Decrypt take a reader lock on the in-memory key cache and an atomic
// count; they block (one keys.db write) only for a tenant's first key, a
// counter reservation every `counter_block` encryptions, and rotation.
// EnsureTenant lets a caller create the first key on a blocking thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tenancy/crypto/envelope.h"
#include "tenancy/crypto/kek.h"
#include "tenancy/crypto/key_store.h"

namespace basalt::crypto {

struct KeyManagerOptions {
  std::string keys_db_path;   // e.g. <data_dir>/keys.db
  std::string kek_file;       // e.g. <data_dir>/kek.key
  std::string kek_env_value;  // the KEK environment variable's value, if set; wins over the file
  // Generate kek_file when it is missing (only while keys.db holds no keys).
  bool create_kek_if_missing = true;
  // The KEK being replaced, during a KEK rotation: keys still wrapped by it
  // are rewrapped under the configured KEK when Open runs. Ignored once no
  // key is wrapped by it; remove it from the configuration afterwards.
  std::string previous_kek_file;
  std::string previous_kek_env_value;
  // 1 to 2^32. Default 2^30 leaves a wide margin under the 2^32 bound for
  // random 96-bit nonces (NIST SP 800-38D 8.3).
  uint64_t max_encryptions_per_key = uint64_t{1} << 30;
  // Encryption counts reserved per keys.db write (>= 1).
  uint64_t counter_block = uint64_t{1} << 16;
};

class KeyManager {
 public:
  // Opens keys.db, loads the KEK (generating kek_file only when keys.db
  // holds no keys yet), rewraps keys still under the previous KEK, and
  // unwraps every tenant's keys into memory. kInvalidArgument for bad options
  // or KEK text; kNotFound naming the KEK id keys.db needs when the key file
  // is missing; kFailedPrecondition naming both ids when keys.db was wrapped
  // by another KEK; kDataLoss when a wrapped key does not authenticate.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<KeyManager>> Open(
      const KeyManagerOptions& options);
  ~KeyManager();

  // What the caller should log after Open (e.g. "generated a new
  // key-encryption key at ..."); empty when there is nothing to say.
  const std::string& notice() const { return notice_; }
  // The id of the KEK in use.
  std::string kek_id() const;

  // Encrypts `plaintext` for `ref` under the tenant's active key (creating
  // the tenant's first key if needed). Returns the binary envelope.
  [[nodiscard]] absl::StatusOr<std::string> Encrypt(const FieldRef& ref,
                                                    std::string_view plaintext);
  // Decrypts an envelope made by Encrypt for the same `ref`.
  [[nodiscard]] absl::StatusOr<std::string> Decrypt(const FieldRef& ref,
                                                    std::string_view envelope) const;

  // Creates the tenant's first key if it has none. OK if it exists.
  [[nodiscard]] absl::Status EnsureTenant(std::string_view tenant);
  // Makes a new active version; older versions stay readable. kNotFound for a
  // tenant without keys.
  [[nodiscard]] absl::Status RotateTenant(std::string_view tenant);
  [[nodiscard]] absl::Status RotateAllTenants();
  // Rewraps every data key under `new_kek` in one keys.db transaction and
  // uses `new_kek` from then on; the old KEK is not needed afterwards. The
  // caller must have stored `new_kek` (WriteKekFile) and point kek_file at it
  // before the next Open. On error nothing changed (the old KEK stays in
  // use). Restarting with previous_kek_file does the same without code.
  [[nodiscard]] absl::Status RewrapAll(const Kek& new_kek);
  // Crypto-shredding: the tenant's wrapped keys are erased from keys.db and
  // its WAL and dropped from memory. Idempotent; kUnavailable if the WAL
  // could not be truncated (the keys are already unusable; call again).
  [[nodiscard]] absl::Status DestroyTenant(std::string_view tenant);

  // The tenant's active version; 0 when it has none or was destroyed.
  int CurrentVersion(std::string_view tenant) const;
  // True when `envelope` parses and was made with an older version than the
  // tenant's active one (for background re-encryption).
  bool NeedsReencrypt(std::string_view envelope, std::string_view tenant) const;

 private:
  struct DataKey;
  struct Tenant;

  KeyManager(const KeyManagerOptions& options, Kek kek, std::unique_ptr<KeyStore> store);
  absl::Status LoadKeys();
  // Slow path of Encrypt, after `count` of version `seen_version` (0: the
  // tenant had no key) was not reserved. True when `count` is now reserved
  // and the caller may seal with that version; false when the caller should
  // try again (a first key or a new version was made, or one appeared).
  absl::StatusOr<bool> Replenish(std::string_view tenant, uint32_t seen_version, uint64_t count)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  absl::Status AddVersionLocked(std::string_view tenant, uint32_t version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::string> Seal(const DataKey& key, const FieldRef& ref,
                                   std::string_view plaintext) const;

  const uint64_t max_encryptions_;
  const uint64_t counter_block_;
  const std::unique_ptr<KeyStore> store_;
  std::string notice_;

  // Serialises every change (keys.db writes and the cache updates after
  // them), so slow paths never race each other; fast paths do not take it.
  mutable absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  Kek kek_ ABSL_GUARDED_BY(write_mu_);
  // The key cache. Readers (Encrypt, Decrypt) hold it shared while they use
  // a key, so a key is never freed under them; writers hold write_mu_ too.
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Tenant>> tenants_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::crypto
