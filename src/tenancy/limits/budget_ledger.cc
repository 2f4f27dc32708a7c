#include "tenancy/limits/budget_ledger.h"

#include <algorithm>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "core/log.h"
#include "core/status.h"
#include "core/strings.h"

namespace basalt::limits {

namespace limits_internal {
struct TenantBudget {
  absl::Mutex mu;
  int64_t month_start_ms ABSL_GUARDED_BY(mu) = 0;
  int64_t spent_tokens ABSL_GUARDED_BY(mu) = 0;
  int64_t spent_cost ABSL_GUARDED_BY(mu) = 0;
  int64_t reserved_tokens ABSL_GUARDED_BY(mu) = 0;
  int64_t reserved_cost ABSL_GUARDED_BY(mu) = 0;

  // Starts a new month's spend when the clock has moved past the one held.
  // Reservations are kept: they settle into the month they settle in.
  void RollLocked(const MonthSpan& month) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (month.start_ms <= month_start_ms) return;
    month_start_ms = month.start_ms;
    spent_tokens = 0;
    spent_cost = 0;
  }
  void UnreserveLocked(int64_t tokens, int64_t cost) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    reserved_tokens -= tokens;
    reserved_cost -= cost;
  }
};
}  // namespace limits_internal

using limits_internal::TenantBudget;

namespace {

// Larger amounts are nonsense and would risk overflowing the sums.
constexpr int64_t kMaxAmount = int64_t{1} << 53;

std::string Usd(int64_t micros) {
  const char* sign = micros < 0 ? "-" : "";
  const uint64_t m = micros < 0 ? -static_cast<uint64_t>(micros) : micros;
  return absl::StrFormat("%s$%d.%06d", sign, m / 1'000'000, m % 1'000'000);
}

}  // namespace

struct BudgetLedger::Shard {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::shared_ptr<TenantBudget>> tenants ABSL_GUARDED_BY(mu);
};

Reservation::~Reservation() {
  if (state_ == nullptr) return;
  absl::MutexLock lock(&state_->mu);
  state_->UnreserveLocked(tokens_, cost_micros_);
}

Reservation::Reservation(Reservation&& other) noexcept
    : state_(std::move(other.state_)),
      tokens_(std::exchange(other.tokens_, 0)),
      cost_micros_(std::exchange(other.cost_micros_, 0)) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    Reservation old(std::move(*this));  // released when `old` goes out of scope
    state_ = std::move(other.state_);
    tokens_ = std::exchange(other.tokens_, 0);
    cost_micros_ = std::exchange(other.cost_micros_, 0);
  }
  return *this;
}

BudgetLedger::BudgetLedger(const Clock& clock, int shards)
    : clock_(clock),
      shard_count_(std::max(shards, 1)),
      shards_(std::make_unique<Shard[]>(shard_count_)) {}

BudgetLedger::~BudgetLedger() = default;

MonthSpan BudgetLedger::CurrentMonth() const {
  const int64_t now_ms = ToUnixMs(clock_.Now());
  const int64_t packed = month_packed_.load(std::memory_order_relaxed);
  const int64_t start_ms = (packed >> 8) * 1000;
  const MonthSpan cached{start_ms, start_ms + (packed & 0xff) * kDayMs};
  if (cached.Contains(now_ms)) return cached;
  const MonthSpan month = UtcMonthOf(now_ms);
  if (month.start_ms >= 0) {
    month_packed_.store((month.start_ms / 1000) << 8 | (month.end_ms - month.start_ms) / kDayMs,
                        std::memory_order_relaxed);
  }
  return month;
}

std::shared_ptr<TenantBudget> BudgetLedger::Find(std::string_view tenant, bool create) const {
  Shard& s = shards_[absl::Hash<absl::string_view>{}(ToAbsl(tenant)) % shard_count_];
  absl::MutexLock lock(&s.mu);
  auto it = s.tenants.find(ToAbsl(tenant));
  if (it != s.tenants.end()) return it->second;
  if (!create) return nullptr;
  return s.tenants.emplace(std::string(tenant), std::make_shared<TenantBudget>()).first->second;
}

absl::StatusOr<Reservation> BudgetLedger::Reserve(std::string_view tenant, const BudgetCaps& caps,
                                                  int64_t worst_tokens, int64_t worst_cost_micros) {
  if (worst_tokens < 0 || worst_cost_micros < 0 || worst_tokens > kMaxAmount ||
      worst_cost_micros > kMaxAmount) {
    return absl::InvalidArgumentError(StrCat("budget reservation out of range (", worst_tokens,
                                             " tokens, ", worst_cost_micros, " micro-USD)"));
  }
  const MonthSpan month = CurrentMonth();
  std::shared_ptr<TenantBudget> state = Find(tenant, /*create=*/true);
  bool tokens_hit = false;
  int64_t spent = 0, reserved = 0, cap = 0;
  {
    absl::MutexLock lock(&state->mu);
    state->RollLocked(month);
    // Invariant: spent + reserved <= cap for every capped budget, so a request
    // fits exactly when its worst case fits in what is left.
    const auto fits = [](int64_t cap, int64_t spent, int64_t reserved, int64_t worst) {
      return cap <= 0 || static_cast<__int128>(spent) + reserved + worst <= cap;
    };
    if (!fits(caps.max_tokens_per_month, state->spent_tokens, state->reserved_tokens,
              worst_tokens)) {
      tokens_hit = true;
      cap = caps.max_tokens_per_month;
      spent = state->spent_tokens;
      reserved = state->reserved_tokens;
    } else if (!fits(caps.max_cost_micros_per_month, state->spent_cost, state->reserved_cost,
                     worst_cost_micros)) {
      cap = caps.max_cost_micros_per_month;
      spent = state->spent_cost;
      reserved = state->reserved_cost;
    } else {
      state->reserved_tokens += worst_tokens;
      state->reserved_cost += worst_cost_micros;
      Reservation r;
      r.state_ = std::move(state);
      r.tokens_ = worst_tokens;
      r.cost_micros_ = worst_cost_micros;
      return r;
    }
  }
  const int64_t left = std::max<int64_t>(cap - spent - reserved, 0);
  std::string message =
      tokens_hit
          ? StrCat("monthly token budget of tenant ", tenant, " exceeded: cap ", cap,
                   " tokens, spent ", spent, ", reserved by requests in flight ", reserved,
                   ", left ", left, "; this request may need up to ", worst_tokens)
          : StrCat("monthly cost budget of tenant ", tenant, " exceeded: cap ", Usd(cap),
                   ", spent ", Usd(spent), ", reserved by requests in flight ", Usd(reserved),
                   ", left ", Usd(left), "; this request may cost up to ", Usd(worst_cost_micros));
  StrAppend(&message, "; the budget resets at ", FormatUtc(month.end_ms));
  return WithErrorCode(absl::ResourceExhaustedError(message), "budget_exceeded");
}

void BudgetLedger::Settle(Reservation& reservation, int64_t actual_tokens,
                          int64_t actual_cost_micros) {
  if (!reservation.active()) return;
  actual_tokens = std::clamp<int64_t>(actual_tokens, 0, kMaxAmount);
  actual_cost_micros = std::clamp<int64_t>(actual_cost_micros, 0, kMaxAmount);
  const MonthSpan month = CurrentMonth();
  std::shared_ptr<TenantBudget> state = std::move(reservation.state_);
  {
    absl::MutexLock lock(&state->mu);
    state->RollLocked(month);
    state->UnreserveLocked(reservation.tokens_, reservation.cost_micros_);
    state->spent_tokens += actual_tokens;
    state->spent_cost += actual_cost_micros;
  }
  if (actual_tokens > reservation.tokens_ || actual_cost_micros > reservation.cost_micros_) {
    overshoots_.fetch_add(1, std::memory_order_relaxed);
    log::Warn("budget settlement exceeded its reservation",
              {{"reserved_tokens", reservation.tokens_},
               {"actual_tokens", actual_tokens},
               {"reserved_cost_micros", reservation.cost_micros_},
               {"actual_cost_micros", actual_cost_micros}});
  }
  reservation.tokens_ = 0;
  reservation.cost_micros_ = 0;
}

void BudgetLedger::Release(Reservation& reservation) { Reservation gone(std::move(reservation)); }

bool BudgetLedger::Load(std::string_view tenant, int64_t month_start_ms, int64_t spent_tokens,
                        int64_t spent_cost_micros) {
  const MonthSpan month = CurrentMonth();
  if (month_start_ms != month.start_ms) return false;
  std::shared_ptr<TenantBudget> state = Find(tenant, /*create=*/true);
  absl::MutexLock lock(&state->mu);
  state->RollLocked(month);
  state->spent_tokens = std::max<int64_t>(spent_tokens, 0);
  state->spent_cost = std::max<int64_t>(spent_cost_micros, 0);
  return true;
}

BudgetUsage BudgetLedger::Snapshot(std::string_view tenant) const {
  BudgetUsage usage;
  usage.month = CurrentMonth();
  std::shared_ptr<TenantBudget> state = Find(tenant, /*create=*/false);
  if (state == nullptr) return usage;
  absl::MutexLock lock(&state->mu);
  state->RollLocked(usage.month);
  usage.spent_tokens = state->spent_tokens;
  usage.spent_cost_micros = state->spent_cost;
  usage.reserved_tokens = state->reserved_tokens;
  usage.reserved_cost_micros = state->reserved_cost;
  return usage;
}

}  // namespace basalt::limits
