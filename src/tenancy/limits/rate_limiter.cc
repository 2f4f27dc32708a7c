#include "tenancy/limits/rate_limiter.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "core/status.h"
#include "core/strings.h"
#include "tenancy/limits/token_bucket.h"

namespace basalt::limits {
namespace {

int64_t SteadyNs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock.Steady().time_since_epoch())
      .count();
}

bool Unlimited(const RateLimits& l) {
  return l.requests_per_minute <= 0 && l.tokens_per_minute <= 0;
}

std::string_view DimensionName(RateDimension d) {
  return d == RateDimension::kRequests ? "requests per minute" : "tokens per minute";
}

// Keeps the tighter of two states for the headers: least remaining, then the
// longer reset.
void Tighten(const TokenBucket& b, LimitState* out) {
  if (b.unlimited()) return;
  const int64_t remaining = std::max<int64_t>(b.level(), 0);
  const absl::Duration reset = absl::Nanoseconds(b.NanosUntilFull());
  if (out->limit == 0 || remaining < out->remaining ||
      (remaining == out->remaining && reset > out->reset)) {
    *out = LimitState{b.limit(), remaining, reset};
  }
}

RateLimiter::Options Normalized(RateLimiter::Options o) {
  o.shards = std::max(o.shards, 1);
  return o;
}

}  // namespace

struct RateLimiter::Shard {
  struct Entry {
    Entry(const RateLimits& l, int64_t now_ns)
        : requests(l.requests_per_minute, now_ns), tokens(l.tokens_per_minute, now_ns) {}
    void Update(const RateLimits& l, int64_t now_ns) {
      requests.SetLimit(l.requests_per_minute, now_ns);
      tokens.SetLimit(l.tokens_per_minute, now_ns);
      requests.Refill(now_ns);
      tokens.Refill(now_ns);
    }
    TokenBucket requests;
    TokenBucket tokens;
  };

  // Drops entries whose buckets are full at `now_ns`: a new entry would be
  // identical, so nothing is lost.
  // Requires mu.
  void SweepLocked(int64_t now_ns, size_t min_entries) {
    for (auto it = map.begin(); it != map.end();) {
      Entry& e = it->second;
      e.requests.Refill(now_ns);
      e.tokens.Refill(now_ns);
      if (e.requests.full() && e.tokens.full()) {
        map.erase(it++);
      } else {
        ++it;
      }
    }
    sweep_at = std::max(min_entries, 2 * map.size());
  }

  // std::mutex, not absl::Mutex: Admit holds several shard locks at once, and
  // Debian's Abseil (a debug build) then runs its lock-order deadlock detector
  // on every acquisition, which measured as a third of Admit's time. The
  // order is fixed by shard index instead (see Admit).
  std::mutex mu;
  absl::flat_hash_map<std::string, Entry> map;  // guarded by mu
  size_t sweep_at = 0;                          // guarded by mu
};

int64_t RateDecision::RetryAfterSeconds() const {
  if (status.ok() || retry_after == absl::InfiniteDuration()) return 0;
  return absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1)));
}

RateLimiter::RateLimiter(const Clock& clock, Options options)
    : clock_(clock), options_(Normalized(options)) {
  shards_ = std::make_unique<Shard[]>(options_.shards);
  for (int i = 0; i < options_.shards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    shards_[i].sweep_at = options_.sweep_min_entries;
  }
}

RateLimiter::~RateLimiter() = default;

RateLimiter::Shard& RateLimiter::ShardFor(std::string_view key, size_t* index) const {
  *index = absl::Hash<absl::string_view>{}(ToAbsl(key)) % static_cast<size_t>(options_.shards);
  return shards_[*index];
}

RateDecision RateLimiter::Admit(std::string_view key, const RateLimits& limits, int64_t requests,
                                int64_t tokens) {
  const RateKey one[] = {{key, limits}};
  return Admit(one, requests, tokens);
}

RateDecision RateLimiter::Admit(std::span<const RateKey> keys, int64_t requests, int64_t tokens) {
  RateDecision d;
  if (keys.size() > kMaxKeysPerCall || requests < 0 || tokens < 0) {
    d.status = absl::InvalidArgumentError(StrCat(
        "rate limiter: at most ", kMaxKeysPerCall, " keys and non-negative amounts per call (got ",
        keys.size(), " keys, ", requests, " requests, ", tokens, " tokens)"));
    d.retry_after = absl::InfiniteDuration();
    return d;
  }
  // The keys that hold state and their shards; shards are locked in index
  // order so two calls over overlapping shards cannot deadlock.
  std::array<size_t, kMaxKeysPerCall> active{};
  std::array<size_t, kMaxKeysPerCall> shard_of{};
  std::array<size_t, kMaxKeysPerCall> order{};
  size_t n = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (Unlimited(keys[i].limits)) continue;
    active[n] = i;
    ShardFor(keys[i].key, &shard_of[n]);
    order[n] = shard_of[n];
    ++n;
  }
  if (n == 0) return d;
  // Insertion sort and dedupe of at most kMaxKeysPerCall shard indices.
  size_t locked = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t v = order[i];
    size_t j = 0;
    while (j < locked && order[j] < v) ++j;
    if (j < locked && order[j] == v) continue;
    for (size_t m = locked; m > j; --m) order[m] = order[m - 1];
    order[j] = v;
    ++locked;
  }
  for (size_t i = 0; i < locked; ++i) shards_[order[i]].mu.lock();

  const int64_t now_ns = SteadyNs(clock_);
  std::array<Shard::Entry*, kMaxKeysPerCall> entries{};
  bool inserted = false;
  for (size_t i = 0; i < n; ++i) {
    auto& map = shards_[shard_of[i]].map;
    const RateKey& k = keys[active[i]];
    auto it = map.find(ToAbsl(k.key));
    if (it == map.end()) {
      it = map.emplace(std::string(k.key), Shard::Entry(k.limits, now_ns)).first;
      inserted = true;
    }
    entries[i] = &it->second;
  }
  if (inserted) {  // an insertion may have moved entries found before it
    for (size_t i = 0; i < n; ++i) {
      entries[i] = &shards_[shard_of[i]].map.find(ToAbsl(keys[active[i]].key))->second;
    }
  }

  // Check every bucket first; charge only if all admit.
  int64_t wait_ns = 0;
  bool too_large = false;
  size_t culprit = 0;
  const TokenBucket* culprit_bucket = nullptr;
  int64_t culprit_amount = 0;
  for (size_t i = 0; i < n; ++i) entries[i]->Update(keys[active[i]].limits, now_ns);
  for (size_t i = 0; i < n && !too_large; ++i) {
    Shard::Entry& e = *entries[i];
    for (auto [bucket, amount, dim] : {std::tuple{&e.requests, requests, RateDimension::kRequests},
                                       std::tuple{&e.tokens, tokens, RateDimension::kTokens}}) {
      if (bucket->unlimited()) continue;
      if (amount > bucket->limit()) {
        too_large = true;
      } else {
        const int64_t w = bucket->NanosUntil(amount);
        if (w <= wait_ns) continue;
        wait_ns = w;
      }
      culprit = active[i];
      culprit_bucket = bucket;
      culprit_amount = amount;
      d.limited_by = dim;
      if (too_large) break;
    }
  }
  const bool admit = !too_large && wait_ns == 0;
  if (admit) {
    for (size_t i = 0; i < n; ++i) {
      entries[i]->requests.Take(requests);
      entries[i]->tokens.Take(tokens);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    Tighten(entries[i]->requests, &d.grant.requests);
    Tighten(entries[i]->tokens, &d.grant.tokens);
  }
  const int64_t culprit_limit = culprit_bucket ? culprit_bucket->limit() : 0;
  const int64_t culprit_level = culprit_bucket ? culprit_bucket->level() : 0;
  if (inserted) {
    for (size_t i = 0; i < locked; ++i) {
      Shard& s = shards_[order[i]];
      if (s.map.size() > s.sweep_at) s.SweepLocked(now_ns, options_.sweep_min_entries);
    }
  }
  for (size_t i = locked; i-- > 0;) shards_[order[i]].mu.unlock();

  if (admit) {
    d.limited_by = RateDimension::kNone;
    return d;
  }
  d.limited_key = std::string(keys[culprit].key);
  const std::string_view what = DimensionName(d.limited_by);
  if (too_large) {
    d.retry_after = absl::InfiniteDuration();
    d.status = WithErrorCode(absl::InvalidArgumentError(StrCat(
                                 "request too large: it needs ", culprit_amount, " ",
                                 d.limited_by == RateDimension::kRequests ? "requests" : "tokens",
                                 " but the ", what, " limit of ", d.limited_key, " is ",
                                 culprit_limit, "; reduce the input or max_tokens")),
                             "request_too_large");
    return d;
  }
  d.retry_after = absl::Nanoseconds(wait_ns);
  d.status = WithErrorCode(
      absl::ResourceExhaustedError(
          StrCat("rate limit exceeded: ", what, " of ", d.limited_key, " (limit ", culprit_limit,
                 ", remaining ", std::max<int64_t>(culprit_level, 0), ", requested ",
                 culprit_amount, "); retry after ", d.RetryAfterSeconds(), "s")),
      "rate_limit_exceeded");
  return d;
}

void RateLimiter::Adjust(std::string_view key, const RateLimits& limits, int64_t token_delta) {
  const RateKey one[] = {{key, limits}};
  Adjust(one, token_delta);
}

void RateLimiter::Adjust(std::span<const RateKey> keys, int64_t token_delta) {
  if (token_delta == 0) return;
  const int64_t now_ns = SteadyNs(clock_);
  for (const RateKey& k : keys) {
    if (k.limits.tokens_per_minute <= 0) continue;
    size_t index;
    Shard& s = ShardFor(k.key, &index);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(ToAbsl(k.key));
    if (token_delta < 0) {
      // A refund to an evicted (hence full) bucket changes nothing.
      if (it == s.map.end()) continue;
      it->second.Update(k.limits, now_ns);
      it->second.tokens.Give(token_delta == INT64_MIN ? INT64_MAX : -token_delta);
      continue;
    }
    if (it == s.map.end()) {
      it = s.map.emplace(std::string(k.key), Shard::Entry(k.limits, now_ns)).first;
    }
    it->second.Update(k.limits, now_ns);
    it->second.tokens.Take(token_delta);
    if (s.map.size() > s.sweep_at) s.SweepLocked(now_ns, options_.sweep_min_entries);
  }
}

size_t RateLimiter::SizeForTest() const {
  size_t total = 0;
  for (int i = 0; i < options_.shards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    total += shards_[i].map.size();
  }
  return total;
}

}  // namespace basalt::limits
