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
  // 64-bit division when the product fits (the usual case: calls come
  // seconds apart); 128-bit after long idle periods or with huge limits.
  int64_t product;
  if (!__builtin_mul_overflow(elapsed, limit_, &product) && product <= INT64_MAX - frac_) {
    AddNumerator(product + frac_);
    return;
  }
  const __int128 numerator = static_cast<__int128>(elapsed) * limit_ + frac_;
  const __int128 whole = numerator / kPeriodNs;
  if (whole >= static_cast<__int128>(limit_) - level_) {
    level_ = limit_;
    frac_ = 0;
    return;
  }
  level_ += static_cast<int64_t>(whole);
  frac_ = static_cast<int64_t>(numerator % kPeriodNs);
}

void TokenBucket::AddNumerator(int64_t numerator) {
  const int64_t whole = numerator / kPeriodNs;
  // limit_ - level_ cannot overflow: level_ is above INT64_MIN / 4 (see Take).
  if (whole >= limit_ - level_) {
    level_ = limit_;
    frac_ = 0;
    return;
  }
  level_ += whole;
  frac_ = numerator % kPeriodNs;
}

int64_t TokenBucket::NanosUntil(int64_t n) const {
  if (limit_ == 0 || level_ >= n) return 0;
  int64_t needed;
  if (!__builtin_mul_overflow(n - level_, kPeriodNs, &needed)) {
    needed -= frac_;  // frac_ < kPeriodNs <= needed: stays positive
    return needed / limit_ + (needed % limit_ != 0);  // ceil: the first instant it fits
  }
  const __int128 wide = (static_cast<__int128>(n) - level_) * kPeriodNs - frac_;
  const __int128 ns = (wide + limit_ - 1) / limit_;
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
