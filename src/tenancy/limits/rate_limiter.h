// RateLimiter: requests-per-minute and tokens-per-minute token buckets, keyed
// by string (the gateway uses "tenant:<t>" and "key:<k>"), each key with the
// limits passed on every call (so a config reload takes effect at once).
//
//   RateKey keys[] = {{"tenant:acme", tenant_limits}, {"key:k1", key_limits}};
//   RateDecision d = limiter.Admit(keys, /*requests=*/1, /*tokens=*/estimate);
//   if (!d.ok()) return 429 with Retry-After: d.RetryAfterSeconds();
//   ... run the model ...
//   limiter.Adjust(keys, actual_tokens - estimate);
//
// Semantics:
// - Every bucket of every key in one Admit is checked first and charged only
//   if all of them admit (all or nothing, under the locks of the keys' shards).
// - A refusal says which limit was hit and the exact time until the request
//   would fit if nothing else were charged meanwhile.
// - A request asking for more than a bucket's capacity (more tokens than the
//   tokens-per-minute limit) can never fit. It is refused at once with
//   kInvalidArgument, error code "request_too_large" (HTTP 400, which SDKs do
//   not retry) rather than capped: capping would let one request take a whole
//   minute's budget and still exceed it. The caller may cap its own estimate.
// - Adjust settles an estimate to the actual count: a refund goes back (never
//   above capacity); an extra charge may leave the bucket in debt, which
//   refill pays back before the key is admitted again.
// - Limits of 0 mean unlimited. A key with no limits holds no state.
//
// Thread-safety: all methods are thread-safe. Keys are spread over shards,
// each with its own mutex held for a few hundred nanoseconds, so io threads
// rarely contend and never block on I/O. Memory is bounded by the keys that
// are not full: a bucket that has refilled completely is indistinguishable
// from a new one, so such entries are dropped when a shard grows (amortised
// O(1)).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/clock.h"

namespace basalt::limits {

struct RateLimits {
  int64_t requests_per_minute = 0;  // 0 = unlimited
  int64_t tokens_per_minute = 0;    // 0 = unlimited
};

struct RateKey {
  std::string_view key;
  RateLimits limits;
};

// One limit's state, as the x-ratelimit-* headers need it.
struct LimitState {
  int64_t limit = 0;      // 0 = unlimited: send no headers for this limit
  int64_t remaining = 0;  // whole units left now (never negative)
  absl::Duration reset;   // time until the bucket is full again
};

struct RateGrant {
  LimitState requests;
  LimitState tokens;
};

enum class RateDimension { kNone, kRequests, kTokens };

struct RateDecision {
  // OK; kResourceExhausted with error code "rate_limit_exceeded"; or
  // kInvalidArgument with "request_too_large" (can never fit).
  absl::Status status;
  // For headers, in both cases. After an admit: the state after the charge;
  // after a refusal: the current state (nothing was charged). With several
  // keys, each limit reports the key with the least remaining.
  RateGrant grant;
  // Refusals only: exact time until the request fits (InfiniteDuration when
  // it never can), which limit and which key caused it.
  absl::Duration retry_after;
  RateDimension limited_by = RateDimension::kNone;
  std::string limited_key;

  bool ok() const { return status.ok(); }
  // retry_after rounded up to whole seconds, for the Retry-After header.
  int64_t RetryAfterSeconds() const;
};

class RateLimiter {
 public:
  struct Options {
    int shards = 64;
    // A shard is swept for full buckets when it grows past twice its size
    // after the last sweep, and never below this size.
    size_t sweep_min_entries = 256;
  };
  static constexpr size_t kMaxKeysPerCall = 8;

  explicit RateLimiter(const Clock& clock) : RateLimiter(clock, Options{}) {}
  RateLimiter(const Clock& clock, Options options);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Charges `requests` and `tokens` to every key, or to none. Keys must be
  // distinct; more than kMaxKeysPerCall keys or negative amounts are
  // kInvalidArgument.
  RateDecision Admit(std::span<const RateKey> keys, int64_t requests, int64_t tokens);
  RateDecision Admit(std::string_view key, const RateLimits& limits, int64_t requests,
                     int64_t tokens);

  // Adds `token_delta` to the tokens charged to every key (negative refunds).
  void Adjust(std::span<const RateKey> keys, int64_t token_delta);
  void Adjust(std::string_view key, const RateLimits& limits, int64_t token_delta);

  // Keys currently holding state (not full), summed over shards.
  size_t SizeForTest() const;

 private:
  struct Shard;
  Shard& ShardFor(std::string_view key, size_t* index) const;

  const Clock& clock_;
  const Options options_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace basalt::limits
