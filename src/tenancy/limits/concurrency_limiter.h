// ConcurrencyLimiter: caps the requests in flight per key.
//
//   absl::StatusOr<ConcurrencyLimiter::Permit> permit = limiter.TryAcquire("key:k1", 4);
//   if (!permit.ok()) return permit.status();  // 429, code concurrency_limit_exceeded
//   ... the request runs while `*permit` lives; its destructor gives the slot back ...
//
// Thread-safety: thread-safe; keys are spread over sharded mutexes held for a
// map lookup. A key whose count drops to zero is erased, so memory is bounded
// by the keys with requests in flight. The limiter must outlive its permits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace basalt::limits {

class ConcurrencyLimiter {
 public:
  // One slot held until destroyed or Release()d. Movable; a moved-from or
  // default-constructed permit holds nothing.
  class Permit {
   public:
    Permit() = default;
    ~Permit() { Release(); }
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;

    // Gives the slot back now (idempotent).
    void Release();
    bool held() const { return limiter_ != nullptr; }

   private:
    friend class ConcurrencyLimiter;
    Permit(ConcurrencyLimiter* limiter, std::string key)
        : limiter_(limiter), key_(std::move(key)) {}
    ConcurrencyLimiter* limiter_ = nullptr;
    std::string key_;
  };

  explicit ConcurrencyLimiter(int shards = 32);
  ~ConcurrencyLimiter();
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // A permit when fewer than `cap` requests of `key` are in flight; otherwise
  // kResourceExhausted with error code "concurrency_limit_exceeded". cap <= 0
  // means unlimited: the permit is granted and not counted.
  absl::StatusOr<Permit> TryAcquire(std::string_view key, int64_t cap);

  // Requests of `key` in flight now.
  int64_t InFlight(std::string_view key) const;

 private:
  struct Shard;
  Shard& ShardFor(std::string_view key) const;
  void Return(const std::string& key);

  const int shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace basalt::limits
