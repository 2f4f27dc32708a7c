// KeyStore: the wrapped data keys in their own SQLite file (keys.db).
//
//   data_keys(tenant, version, wrapped_key, kek_id, state, created_at,
//             reserved, PRIMARY KEY (tenant, version))
// `state` is 'active' (the one version new encryptions use), 'retired' (still
// decrypts) or 'destroyed' (wrapped_key is NULL). `reserved` is the
// encryption-count high-water mark: every count below it may have been used.
// A tenant destroyed before it had a key gets a version-0 'destroyed' row so
// the tenant id stays shredded.
//
// The file runs in WAL mode with PRAGMA secure_delete=ON: SQLite zeroes
// deleted and overwritten cell content, so a destroyed key's bytes do not
// stay in free space. TruncateWal() then copies the WAL into the database and
// truncates it to zero bytes so old page images holding the key go too.
//
// Thread-safety: all methods may be called from any thread; they serialise
// on one connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace basalt::crypto {

enum class KeyState { kActive, kRetired, kDestroyed };

struct StoredKey {
  std::string tenant;
  uint32_t version = 0;
  std::string wrapped;  // empty when destroyed
  std::string kek_id;
  KeyState state = KeyState::kActive;
  int64_t created_at = 0;  // Unix seconds
  uint64_t reserved = 0;
};

class KeyStore {
 public:
  // Opens or creates the file and its schema. kUnavailable naming the path
  // when it cannot be opened; kFailedPrecondition when WAL mode or
  // secure_delete cannot be turned on.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<KeyStore>> Open(const std::string& path);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Every row, ordered by tenant and version.
  [[nodiscard]] absl::StatusOr<std::vector<StoredKey>> LoadAll();
  // Inserts `key` as its tenant's active version and retires the previous
  // active one, in one transaction.
  [[nodiscard]] absl::Status AddVersion(const StoredKey& key);
  // Raises a version's counter reservation (never lowers it).
  [[nodiscard]] absl::Status SetReserved(std::string_view tenant, uint32_t version,
                                         uint64_t reserved);
  // Sets every version of `tenant` to 'destroyed' with a NULL wrapped key
  // (or adds the version-0 row). Call TruncateWal() afterwards.
  [[nodiscard]] absl::Status MarkDestroyed(std::string_view tenant, int64_t now);
  // Replaces wrapped_key and kek_id of each given (tenant, version) in one
  // transaction. kAborted (nothing changed) if a row is missing or no longer
  // wrapped by `old_kek_id`.
  [[nodiscard]] absl::Status Rewrap(const std::vector<StoredKey>& keys,
                                    std::string_view old_kek_id);
  // wal_checkpoint(TRUNCATE). kUnavailable if a reader kept it from finishing.
  [[nodiscard]] absl::Status TruncateWal();

 private:
  explicit KeyStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Error(int rc, std::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
  const std::string path_;
};

}  // namespace basalt::crypto
