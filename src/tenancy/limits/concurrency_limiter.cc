#include "tenancy/limits/concurrency_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"
#include "core/status.h"
#include "core/strings.h"

namespace basalt::limits {

struct ConcurrencyLimiter::Shard {
  mutable absl::Mutex mu;
  absl::flat_hash_map<std::string, int64_t> in_flight ABSL_GUARDED_BY(mu);
};

ConcurrencyLimiter::Permit::Permit(Permit&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), key_(std::move(other.key_)) {}

ConcurrencyLimiter::Permit& ConcurrencyLimiter::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

void ConcurrencyLimiter::Permit::Release() {
  if (limiter_ == nullptr) return;
  std::exchange(limiter_, nullptr)->Return(key_);
}

ConcurrencyLimiter::ConcurrencyLimiter(int shards)
    : shard_count_(std::max(shards, 1)), shards_(std::make_unique<Shard[]>(shard_count_)) {}

ConcurrencyLimiter::~ConcurrencyLimiter() = default;

ConcurrencyLimiter::Shard& ConcurrencyLimiter::ShardFor(std::string_view key) const {
  return shards_[absl::Hash<absl::string_view>{}(ToAbsl(key)) % shard_count_];
}

absl::StatusOr<ConcurrencyLimiter::Permit> ConcurrencyLimiter::TryAcquire(std::string_view key,
                                                                          int64_t cap) {
  if (cap <= 0) return Permit();
  Shard& s = ShardFor(key);
  {
    absl::MutexLock lock(&s.mu);
    auto it = s.in_flight.find(ToAbsl(key));
    if (it == s.in_flight.end()) {
      s.in_flight.emplace(std::string(key), 1);
    } else if (it->second < cap) {
      ++it->second;
    } else {
      return WithErrorCode(
          absl::ResourceExhaustedError(StrCat("too many concurrent requests for ", key, " (limit ",
                                              cap, "); retry when one finishes")),
          "concurrency_limit_exceeded");
    }
  }
  return Permit(this, std::string(key));
}

void ConcurrencyLimiter::Return(const std::string& key) {
  Shard& s = ShardFor(key);
  absl::MutexLock lock(&s.mu);
  auto it = s.in_flight.find(key);
  // A permit exists only for a counted key, so the entry is present and > 0.
  if (it == s.in_flight.end()) return;
  if (--it->second <= 0) s.in_flight.erase(it);
}

int64_t ConcurrencyLimiter::InFlight(std::string_view key) const {
  Shard& s = ShardFor(key);
  absl::MutexLock lock(&s.mu);
  auto it = s.in_flight.find(ToAbsl(key));
  return it == s.in_flight.end() ? 0 : it->second;
}

}  // namespace basalt::limits
