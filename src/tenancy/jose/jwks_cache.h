// JwksCache: one issuer's key set, fetched through an injected fetcher and kept
// fresh.
//   - Current() returns the loaded KeySet (or null) under a short mutex; the
//     KeySet itself is immutable, so readers on any thread share it.
//   - Refresh() fetches and parses the JWKS. Concurrent callers share one
//     in-flight fetch (the first caller runs it; the others wait on a
//     concurrent_channel of their own executor and get its result). At most
//     one fetch starts per min_refresh_interval: inside the interval Refresh()
//     returns the last attempt's status without fetching.
//   - Get() returns the keys, refreshing first when none are loaded or they
//     are older than ttl. A failed refresh keeps the old keys (a JWKS endpoint
//     outage does not log everyone out); with no keys at all it fails.
//   - VerifyJwtWithCache() turns the NotFound of an unknown kid into one
//     (rate-limited) refresh and a retry, then Unauthenticated.
// A failed fetch is Unavailable; an unparsable JWKS keeps the old keys and
// reports InvalidArgument from KeySet::ParseJwks.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "tenancy/jose/jwt.h"
#include "tenancy/jose/key_set.h"

namespace basalt::jose {

// Returns the JWKS document. The app wires an HTTP GET; FileJwksFetcher reads a file.
using JwksFetcher = std::function<boost::asio::awaitable<absl::StatusOr<std::string>>()>;

// Reads `path` on each call (a small file; read on the calling thread).
JwksFetcher FileJwksFetcher(std::string path);

struct JwksCacheOptions {
  JwksOptions jwks;
  std::chrono::seconds ttl{600};
  std::chrono::seconds min_refresh_interval{30};
};

class JwksCache {
 public:
  JwksCache(JwksFetcher fetcher, JwksCacheOptions options, const Clock& clock);
  ~JwksCache();
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  std::shared_ptr<const KeySet> Current() const;
  boost::asio::awaitable<absl::Status> Refresh();
  boost::asio::awaitable<absl::StatusOr<std::shared_ptr<const KeySet>>> Get();

  int fetches_for_test() const;

 private:
  struct Waiter;
  bool ShouldFetchLocked() const;

  const JwksFetcher fetcher_;
  const JwksCacheOptions options_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::shared_ptr<const KeySet> current_;             // guarded by mu_
  std::chrono::steady_clock::time_point loaded_at_;   // guarded by mu_
  std::chrono::steady_clock::time_point attempted_at_;// guarded by mu_
  bool attempted_ = false;                            // guarded by mu_
  bool in_flight_ = false;                            // guarded by mu_
  absl::Status last_status_;                          // guarded by mu_
  std::vector<std::shared_ptr<Waiter>> waiters_;      // guarded by mu_
  int fetches_ = 0;                                   // guarded by mu_
};

// VerifyJwt against the cache's keys plus `configured` (HMAC secrets from
// configuration; may be null), now from `clock`. See the header comment.
boost::asio::awaitable<absl::StatusOr<VerifiedJwt>> VerifyJwtWithCache(
    std::string token, JwksCache& cache, std::shared_ptr<const KeySet> configured,
    const JwtPolicy& policy, const Clock& clock);

}  // namespace basalt::jose
