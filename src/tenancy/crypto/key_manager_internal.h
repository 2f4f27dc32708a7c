// KeyManager's in-memory key records, shared by key_manager.cc (open, encrypt,
// decrypt) and key_manager_admin.cc (rotate, rewrap, destroy). Not for use
// outside this folder.
#pragma once

#include <openssl/crypto.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/clock.h"
#include "tenancy/crypto/key_manager.h"

namespace basalt::crypto {

struct KeyManager::DataKey {
  DataKey(uint32_t v, std::string_view bytes, uint64_t reservation)
      : version(v), next(reservation), reserved(reservation) {
    std::memcpy(key.data(), bytes.data(), key.size());
  }
  ~DataKey() { OPENSSL_cleanse(key.data(), key.size()); }
  std::string_view bytes() const { return std::string_view(key.data(), key.size()); }

  const uint32_t version;
  std::array<char, 32> key;
  // The next encryption count to hand out. Counts at or above `reserved` are
  // not yet recorded in keys.db and may not be used.
  std::atomic<uint64_t> next;
  // Raised (release) only after keys.db holds the higher value.
  std::atomic<uint64_t> reserved;
};

struct KeyManager::Tenant {
  absl::flat_hash_map<uint32_t, std::unique_ptr<DataKey>> versions;
  DataKey* active = nullptr;  // points into `versions`; null when destroyed
  bool destroyed = false;
};

namespace key_manager_internal {

inline absl::Status Destroyed() {
  return absl::FailedPreconditionError("tenant's keys were destroyed");
}

inline int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             RealClock::Instance().Now().time_since_epoch())
      .count();
}

}  // namespace key_manager_internal

}  // namespace basalt::crypto
