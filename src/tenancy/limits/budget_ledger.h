// BudgetLedger: monthly token and cost budgets per tenant that never
// overshoot. A request reserves its worst case before it runs and settles the
// actual amount afterwards:
//
//   absl::StatusOr<Reservation> r = ledger.Reserve(tenant, caps, worst_tokens, worst_cost);
//   if (!r.ok()) return r.status();  // 429, error code budget_exceeded
//   ... run the model with max_tokens capped to what was reserved ...
//   ledger.Settle(*r, actual_tokens, actual_cost);  // or let *r go out of scope on failure
//
// Invariant, per tenant and dimension with a cap: spent + reserved <= cap,
// checked and updated under one lock per tenant. A request is refused exactly
// when spent + reserved + its worst case would exceed the cap at that moment.
//
// Months are UTC calendar months from the injected clock. When the month
// changes, spent starts again at zero; reservations still in flight are kept
// and settle into the month in which they settle (the usage store records a
// call at its completion time too, so seeding from it after a restart agrees).
//
// Overshoot: settling more than was reserved (the caller did not cap
// max_tokens, or the price table changed) is recorded as spent all the same,
// since it was spent; the ledger counts it (Overshoots()) and logs a warning.
// Spent may then exceed the cap; further reservations are refused until the
// month ends.
//
// Tenants are never evicted (their number is bounded by configuration).
//
// Thread-safety: thread-safe. A Reservation may be settled or released from
// any thread. It shares its tenant's state, not the ledger, so destroying one
// after the ledger is safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "tenancy/limits/calendar.h"

namespace basalt::limits {

namespace limits_internal {
struct TenantBudget;
}  // namespace limits_internal

struct BudgetCaps {
  int64_t max_tokens_per_month = 0;       // 0 = unlimited
  int64_t max_cost_micros_per_month = 0;  // 0 = unlimited
};

// A hold on part of a tenant's budget. Released on destruction unless settled
// or released before. Movable; a moved-from or default Reservation holds
// nothing.
class Reservation {
 public:
  Reservation() = default;
  ~Reservation();
  Reservation(Reservation&& other) noexcept;
  Reservation& operator=(Reservation&& other) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;

  bool active() const { return state_ != nullptr; }
  int64_t tokens() const { return tokens_; }
  int64_t cost_micros() const { return cost_micros_; }

 private:
  friend class BudgetLedger;
  std::shared_ptr<limits_internal::TenantBudget> state_;
  int64_t tokens_ = 0;
  int64_t cost_micros_ = 0;
};

// A tenant's month so far.
struct BudgetUsage {
  MonthSpan month;
  int64_t spent_tokens = 0;
  int64_t spent_cost_micros = 0;
  int64_t reserved_tokens = 0;
  int64_t reserved_cost_micros = 0;
};

class BudgetLedger {
 public:
  explicit BudgetLedger(const Clock& clock, int shards = 16);
  ~BudgetLedger();
  BudgetLedger(const BudgetLedger&) = delete;
  BudgetLedger& operator=(const BudgetLedger&) = delete;

  // Holds `worst_tokens` and `worst_cost_micros` of `tenant`'s month. When a
  // capped budget cannot hold them: kResourceExhausted with error code
  // "budget_exceeded" and a message naming the budget, what is left and when
  // the month ends. Negative amounts: kInvalidArgument.
  absl::StatusOr<Reservation> Reserve(std::string_view tenant, const BudgetCaps& caps,
                                      int64_t worst_tokens, int64_t worst_cost_micros);

  // Moves the actual amounts into spent and frees the rest of the reservation.
  // No-op on an inactive reservation (already settled, released or moved).
  void Settle(Reservation& reservation, int64_t actual_tokens, int64_t actual_cost_micros);

  // Returns the whole reservation (the call failed or was cancelled before
  // anything was spent). No-op on an inactive reservation.
  void Release(Reservation& reservation);

  // Seeds a tenant's month-to-date spend at start-up (from UsageStore's
  // MonthToDate), replacing what the ledger holds for that month. Applied and
  // true only when `month_start_ms` is the start of the current month; a seed
  // for another month is ignored (false).
  bool Load(std::string_view tenant, int64_t month_start_ms, int64_t spent_tokens,
            int64_t spent_cost_micros);

  // The tenant's current month (zeros for an unknown tenant).
  BudgetUsage Snapshot(std::string_view tenant) const;

  // Settlements that exceeded their reservation, since start.
  int64_t Overshoots() const { return overshoots_.load(std::memory_order_relaxed); }

 private:
  struct Shard;
  std::shared_ptr<limits_internal::TenantBudget> Find(std::string_view tenant, bool create) const;
  MonthSpan CurrentMonth() const;

  const Clock& clock_;
  const int shard_count_;
  std::unique_ptr<Shard[]> shards_;
  // The month of the last call, so most calls skip the civil-time conversion:
  // start in seconds << 8 | length in days, one word so readers never see a
  // start and an end from different months.
  mutable std::atomic<int64_t> month_packed_{0};
  std::atomic<int64_t> overshoots_{0};
};

}  // namespace basalt::limits
