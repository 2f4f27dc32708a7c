// TokenBucket: the exact arithmetic of one "N per minute" limit. Capacity is
// `limit` units; it refills continuously at `limit` units per minute, so an
// idle bucket is full again one minute after it was emptied. Time is integer
// nanoseconds from a monotonic clock; the fraction of a unit refilled so far is
// carried exactly (no floating point), so retry-after answers are exact to the
// nanosecond.
//
// The level may go negative (debt) when a charge is settled upwards after the
// fact; refill pays the debt back before the bucket admits again.
//
// Not thread-safe: the RateLimiter holds a lock around every call.
#pragma once

#include <cstdint>

namespace basalt::limits {

class TokenBucket {
 public:
  static constexpr int64_t kPeriodNs = 60'000'000'000;  // one minute

  // A bucket with capacity `limit` (0 = unlimited: admits everything, holds no
  // state), full at `now_ns`.
  TokenBucket(int64_t limit, int64_t now_ns);

  // Refills up to `now_ns`, then changes the capacity. Shrinking clamps the
  // level to the new capacity; growing keeps the level (the extra room fills at
  // the new rate). Going from unlimited to limited starts full.
  void SetLimit(int64_t limit, int64_t now_ns);

  // Adds what has refilled since the last call. A clock that goes backwards is
  // treated as no time passing.
  void Refill(int64_t now_ns);

  // Nanoseconds from the last Refill until the level reaches `n` (0 when it
  // already has). `n` must not exceed the capacity: callers refuse such
  // requests first, or they would wait forever.
  int64_t NanosUntil(int64_t n) const;
  int64_t NanosUntilFull() const { return NanosUntil(limit_); }

  // Removes `n` units (may leave the level negative).
  void Take(int64_t n);
  // Returns `n` units, never above capacity.
  void Give(int64_t n);

  bool unlimited() const { return limit_ == 0; }
  bool full() const { return limit_ == 0 || level_ >= limit_; }
  int64_t limit() const { return limit_; }
  // Whole units available now (negative while in debt). Meaningless when unlimited.
  int64_t level() const { return level_; }

 private:
  // Adds numerator / kPeriodNs units, carrying the remainder.
  void AddNumerator(int64_t numerator);

  int64_t limit_;
  int64_t level_;
  // Refilled fraction of one unit, in units of 1/kPeriodNs: 0 <= frac_ < kPeriodNs.
  int64_t frac_ = 0;
  int64_t last_ns_;
};

}  // namespace basalt::limits
