#include "tenancy/crypto/key_manager.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "tenancy/crypto/aes_gcm.h"
#include "tenancy/crypto/key_manager_internal.h"

namespace basalt::crypto {

using key_manager_internal::Destroyed;
using key_manager_internal::NowUnix;

absl::StatusOr<std::unique_ptr<KeyManager>> KeyManager::Open(const KeyManagerOptions& options) {
  if (options.max_encryptions_per_key == 0 ||
      options.max_encryptions_per_key > (uint64_t{1} << 32)) {
    return absl::InvalidArgumentError("max_encryptions_per_key must be 1 to 2^32");
  }
  if (options.counter_block == 0) return absl::InvalidArgumentError("counter_block must be >= 1");
  if (options.keys_db_path.empty()) return absl::InvalidArgumentError("keys_db_path is empty");
  absl::StatusOr<std::unique_ptr<KeyStore>> store = KeyStore::Open(options.keys_db_path);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::vector<StoredKey>> rows = (*store)->LoadAll();
  if (!rows.ok()) return rows.status();
  // The KEK ids that wrap live keys (all rows share one; see RewrapAll).
  std::string stored_kek_id;
  for (const StoredKey& row : *rows) {
    if (row.state != KeyState::kDestroyed) stored_kek_id = row.kek_id;
  }

  // A new KEK is generated only while no key depends on one: a key file lost
  // beside a keys.db full of keys must be restored, not silently replaced.
  absl::StatusOr<LoadedKek> kek =
      LoadKek(KekSource{options.kek_file, options.kek_env_value,
                        options.create_kek_if_missing && stored_kek_id.empty()});
  if (absl::IsNotFound(kek.status()) && !stored_kek_id.empty()) {
    return absl::NotFoundError(StrCat(kek.status().message(), "; ", options.keys_db_path,
                                      " holds data keys wrapped by key-encryption key ",
                                      stored_kek_id, ": restore that key file"));
  }
  if (!kek.ok()) return kek.status();
  std::string notice = std::move(kek->notice);

  // Keys still wrapped by the previous KEK are loaded with it and rewrapped
  // under the configured one before Open returns.
  std::optional<Kek> previous;
  if (!options.previous_kek_file.empty() || !options.previous_kek_env_value.empty()) {
    absl::StatusOr<LoadedKek> loaded =
        LoadKek(KekSource{options.previous_kek_file, options.previous_kek_env_value, false});
    if (!loaded.ok()) return loaded.status();
    if (!loaded->notice.empty()) StrAppend(&notice, notice.empty() ? "" : "; ", loaded->notice);
    if (!stored_kek_id.empty() && loaded->kek.id() == stored_kek_id &&
        loaded->kek.id() != kek->kek.id()) {
      previous = loaded->kek;
    }
  }
  Kek new_kek = kek->kek;
  std::unique_ptr<KeyManager> manager(
      new KeyManager(options, previous.has_value() ? *previous : kek->kek, *std::move(store)));
  if (absl::Status s = manager->LoadKeys(); !s.ok()) return s;
  if (previous.has_value()) {
    if (absl::Status s = manager->RewrapAll(new_kek); !s.ok()) return s;
    StrAppend(&notice, notice.empty() ? "" : "; ",
              "rewrapped every data key from key-encryption key ", previous->id(), " to ",
              new_kek.id(), "; the previous key is no longer needed");
  }
  manager->notice_ = std::move(notice);
  return manager;
}

KeyManager::KeyManager(const KeyManagerOptions& options, Kek kek, std::unique_ptr<KeyStore> store)
    : max_encryptions_(options.max_encryptions_per_key),
      counter_block_(options.counter_block),
      store_(std::move(store)),
      kek_(std::move(kek)) {}

KeyManager::~KeyManager() = default;

std::string KeyManager::kek_id() const {
  absl::MutexLock lock(&write_mu_);
  return kek_.id();
}

absl::Status KeyManager::LoadKeys() {
  absl::StatusOr<std::vector<StoredKey>> rows = store_->LoadAll();
  if (!rows.ok()) return rows.status();
  absl::MutexLock write_lock(&write_mu_);
  absl::MutexLock lock(&mu_);
  for (const StoredKey& row : *rows) {
    std::unique_ptr<Tenant>& tenant = tenants_[ToAbsl(row.tenant)];
    if (tenant == nullptr) tenant = std::make_unique<Tenant>();
    if (row.state == KeyState::kDestroyed) {
      tenant->versions.clear();
      tenant->active = nullptr;
      tenant->destroyed = true;
      continue;
    }
    if (tenant->destroyed) continue;  // A mix cannot be written; stay shredded.
    if (row.kek_id != kek_.id()) {
      return absl::FailedPreconditionError(
          StrCat("data keys of tenant ", row.tenant, " are wrapped by key-encryption key ",
                 row.kek_id, " but the configured key-encryption key is ", kek_.id(),
                 "; configure the key-encryption key they were written with"));
    }
    absl::StatusOr<std::string> key = kek_.Unwrap(row.wrapped, row.tenant, row.version);
    if (!key.ok()) {
      return absl::DataLossError(StrCat("keys database: data key of tenant ", row.tenant,
                                        " version ", row.version, ": ", key.status().message()));
    }
    auto data_key = std::make_unique<DataKey>(row.version, *key, row.reserved);
    OPENSSL_cleanse(key->data(), key->size());
    // Rows come ordered by version, so the active row is the newest.
    if (row.state == KeyState::kActive) tenant->active = data_key.get();
    tenant->versions[row.version] = std::move(data_key);
  }
  for (auto& [name, tenant] : tenants_) {
    if (!tenant->destroyed && tenant->active == nullptr) {
      return absl::DataLossError(StrCat("keys database: tenant ", name, " has no active key"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyManager::Seal(const DataKey& key, const FieldRef& ref,
                                             std::string_view plaintext) const {
  absl::StatusOr<Aad> aad = BuildAad(ref, key.version);
  if (!aad.ok()) return aad.status();
  std::string out(kEnvelopeOverhead + plaintext.size(), '\0');
  WriteEnvelopePrefix(key.version, out.data());
  char* nonce = out.data() + 5;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce), kEnvelopeNonceSize) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  if (absl::Status s = AesGcm::SealTo(key.bytes(), std::string_view(nonce, kEnvelopeNonceSize),
                                      std::string_view(aad->data(), aad->size()), plaintext,
                                      kEnvelopeTagSize, out.data() + kEnvelopeHeaderSize);
      !s.ok()) {
    return s;
  }
  return out;
}

absl::StatusOr<std::string> KeyManager::Encrypt(const FieldRef& ref, std::string_view plaintext) {
  // A version whose count Replenish reserved for this call (0: none yet).
  uint32_t granted_version = 0;
  // Each pass seals or makes progress in Replenish (a reservation or a new
  // version). Other threads may rotate meanwhile, so a few passes can be
  // needed under heavy contention with a tiny limit.
  for (int pass = 0; pass < 64; ++pass) {
    uint32_t seen_version = 0;
    uint64_t count = 0;
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = tenants_.find(ToAbsl(ref.tenant));
      if (it != tenants_.end()) {
        const Tenant& tenant = *it->second;
        if (tenant.destroyed) return Destroyed();
        if (granted_version != 0) {
          auto granted = tenant.versions.find(granted_version);
          // Versions are only dropped with the whole tenant (destroyed above).
          if (granted != tenant.versions.end()) return Seal(*granted->second, ref, plaintext);
        }
        DataKey& key = *tenant.active;
        count = key.next.fetch_add(1, std::memory_order_relaxed);
        if (count < key.reserved.load(std::memory_order_acquire)) {
          return Seal(key, ref, plaintext);
        }
        seen_version = key.version;
      }
    }
    absl::StatusOr<bool> granted = Replenish(ref.tenant, seen_version, count);
    if (!granted.ok()) return granted.status();
    if (*granted) granted_version = seen_version;
  }
  return absl::UnavailableError("could not reserve an encryption count; retry");
}

absl::StatusOr<bool> KeyManager::Replenish(std::string_view tenant_id, uint32_t seen_version,
                                           uint64_t count) {
  absl::MutexLock write_lock(&write_mu_);
  DataKey* key = nullptr;
  bool active = false;
  uint32_t newest = 0;
  {
    // Writers hold write_mu_, so what is read here cannot change until the
    // writes below; the reader lock is for the annotations' sake.
    absl::ReaderMutexLock lock(&mu_);
    auto it = tenants_.find(ToAbsl(tenant_id));
    if (it != tenants_.end()) {
      const Tenant& tenant = *it->second;
      if (tenant.destroyed) return Destroyed();
      auto found = tenant.versions.find(seen_version);
      if (found != tenant.versions.end()) key = found->second.get();
      active = key != nullptr && key == tenant.active;
      for (const auto& [version, unused] : tenant.versions) newest = std::max(newest, version);
    }
  }
  if (newest == 0) {
    if (absl::Status s = AddVersionLocked(tenant_id, 1); !s.ok()) return s;
    return false;
  }
  if (key == nullptr || !active) return false;  // Rotated meanwhile: use the new version.
  if (count < key->reserved.load(std::memory_order_relaxed)) return true;  // Reserved meanwhile.
  if (count >= max_encryptions_) {
    if (newest == UINT32_MAX) return absl::ResourceExhaustedError("no key versions left");
    if (absl::Status s = AddVersionLocked(tenant_id, newest + 1); !s.ok()) return s;
    return false;
  }
  // Recorded before it is used: a restart resumes after `target`.
  const uint64_t target = std::min(max_encryptions_, count + counter_block_);
  if (absl::Status s = store_->SetReserved(tenant_id, key->version, target); !s.ok()) return s;
  key->reserved.store(target, std::memory_order_release);
  return true;
}

absl::Status KeyManager::AddVersionLocked(std::string_view tenant_id, uint32_t version) {
  std::array<unsigned char, 32> bytes;
  if (RAND_priv_bytes(bytes.data(), bytes.size()) != 1) {
    return absl::InternalError("RAND_priv_bytes failed generating a data key");
  }
  const std::string_view key_bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  absl::StatusOr<std::string> wrapped = kek_.Wrap(key_bytes, tenant_id, version);
  if (!wrapped.ok()) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return wrapped.status();
  }
  StoredKey row;
  row.tenant = std::string(tenant_id);
  row.version = version;
  row.wrapped = *std::move(wrapped);
  row.kek_id = kek_.id();
  row.state = KeyState::kActive;
  row.created_at = NowUnix();
  row.reserved = std::min(max_encryptions_, counter_block_);
  if (absl::Status s = store_->AddVersion(row); !s.ok()) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return s;
  }
  // A fresh key starts counting at 0 with its first block already reserved.
  auto data_key = std::make_unique<DataKey>(version, key_bytes, 0);
  data_key->reserved.store(row.reserved, std::memory_order_relaxed);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Tenant>& tenant = tenants_[ToAbsl(tenant_id)];
  if (tenant == nullptr) tenant = std::make_unique<Tenant>();
  tenant->active = data_key.get();
  tenant->versions[version] = std::move(data_key);
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyManager::Decrypt(const FieldRef& ref,
                                                std::string_view envelope) const {
  absl::StatusOr<EnvelopeView> view = ParseEnvelope(envelope);
  if (!view.ok()) return view.status();
  absl::StatusOr<Aad> aad = BuildAad(ref, view->key_version);
  if (!aad.ok()) return aad.status();
  std::string plaintext(view->sealed.size() - kEnvelopeTagSize, '\0');
  absl::ReaderMutexLock lock(&mu_);
  auto it = tenants_.find(ToAbsl(ref.tenant));
  if (it == tenants_.end()) {
    return absl::NotFoundError(StrCat("no data key for tenant ", ref.tenant));
  }
  if (it->second->destroyed) return Destroyed();
  auto key = it->second->versions.find(view->key_version);
  if (key == it->second->versions.end()) {
    // Versions 1..active all exist, so an unknown one means altered bytes.
    return absl::DataLossError(
        StrCat("ciphertext does not authenticate: no key version ", view->key_version));
  }
  if (absl::Status s = AesGcm::OpenTo(key->second->bytes(), view->nonce,
                                      std::string_view(aad->data(), aad->size()), view->sealed,
                                      kEnvelopeTagSize, plaintext.data());
      !s.ok()) {
    return s;
  }
  return plaintext;
}

absl::Status KeyManager::EnsureTenant(std::string_view tenant_id) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = tenants_.find(ToAbsl(tenant_id));
    if (it != tenants_.end()) return it->second->destroyed ? Destroyed() : absl::OkStatus();
  }
  absl::MutexLock write_lock(&write_mu_);
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = tenants_.find(ToAbsl(tenant_id));
    if (it != tenants_.end()) return it->second->destroyed ? Destroyed() : absl::OkStatus();
  }
  return AddVersionLocked(tenant_id, 1);
}

int KeyManager::CurrentVersion(std::string_view tenant_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = tenants_.find(ToAbsl(tenant_id));
  if (it == tenants_.end() || it->second->destroyed) return 0;
  return static_cast<int>(it->second->active->version);
}

bool KeyManager::NeedsReencrypt(std::string_view envelope, std::string_view tenant_id) const {
  absl::StatusOr<EnvelopeView> view = ParseEnvelope(envelope);
  if (!view.ok()) return false;
  absl::ReaderMutexLock lock(&mu_);
  auto it = tenants_.find(ToAbsl(tenant_id));
  if (it == tenants_.end() || it->second->destroyed) return false;
  return view->key_version < it->second->active->version;
}

}  // namespace basalt::crypto
