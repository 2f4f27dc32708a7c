#include "tenancy/limits/token_bucket.h"

#include <algorithm>

namespace basalt::limits {

TokenBucket::TokenBucket(int64_t limit, int64_t now_ns)
    : limit_(std::max<int64_t>(limit, 0)), level_(limit_), last_ns_(now_ns) {}

void TokenBucket::SetLimit(int64_t limit, int64_t now_ns) {
  limit = std::max<int64_t>(limit, 0);
  if (limit == limit_) return;
  if (limit_ == 0) {
    *this = TokenBucket(limit, now_ns);
    return;
  }
  Refill(now_ns);
  limit_ = limit;
  if (limit_ == 0 || level_ >= limit_) {
    level_ = limit_;
    frac_ = 0;
  }
}

void TokenBucket::Refill(int64_t now_ns) {
  if (now_ns <= last_ns_) return;
  const int64_t elapsed = now_ns - last_ns_;
  last_ns_ = now_ns;
  if (limit_ == 0 || level_ >= limit_) return;
  // 128-bit: elapsed (up to years of ns) times limit overflows 64 bits.
  const __int128 numerator = static_cast<__int128>(elapsed) * limit_ + frac_;
  const __int128 whole = numerator / kPeriodNs;
  const __int128 room = static_cast<__int128>(limit_) - level_;
  if (whole >= room) {
    level_ = limit_;
    frac_ = 0;
    return;
  }
  level_ += static_cast<int64_t>(whole);
  frac_ = static_cast<int64_t>(numerator % kPeriodNs);
}

int64_t TokenBucket::NanosUntil(int64_t n) const {
  if (limit_ == 0 || level_ >= n) return 0;
  const __int128 needed = (static_cast<__int128>(n) - level_) * kPeriodNs - frac_;
  const __int128 ns = (needed + limit_ - 1) / limit_;  // ceil: the first instant it fits
  return ns > INT64_MAX ? INT64_MAX : static_cast<int64_t>(ns);
}

void TokenBucket::Take(int64_t n) {
  if (limit_ == 0) return;
  // Saturate far below any real debt so absurd adjustments cannot overflow.
  constexpr int64_t kFloor = INT64_MIN / 4;
  level_ = n > level_ - kFloor ? kFloor : level_ - n;
}

void TokenBucket::Give(int64_t n) {
  if (limit_ == 0) return;
  if (n >= limit_ - level_) {
    level_ = limit_;
    frac_ = 0;
  } else {
    level_ += n;
  }
}

}  // namespace basalt::limits
