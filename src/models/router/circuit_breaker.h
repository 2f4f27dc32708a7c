// CircuitBreaker: stops calling an upstream that keeps failing, then probes it.
//
//   closed     calls pass; `failure_threshold` consecutive failures open it
//   open       calls are refused for `cool_down`; then it turns half-open
//   half-open  at most `half_open_probes` calls at a time pass as probes; a
//              success closes it, a failure opens it again for another cool-down
//
// Only upstream-health failures count (the router reports 429, 5xx, connection
// errors and timeouts); an answer such as 400 shows the upstream is alive and
// counts as a success. The open -> half-open change happens on the first
// TryAcquire after the cool-down (nothing runs in the background), so the state
// gauge shows "open" until the next call arrives.
//
// Usage: every admitted call holds a Ticket and reports exactly one outcome on it;
// a Ticket dropped without an outcome (the caller was cancelled) gives its probe
// slot back without changing the state. Thread-safe; time comes from the Clock.
#pragma once

#include <chrono>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "core/metrics.h"

namespace basalt::models {

struct BreakerConfig {
  int failure_threshold = 5;  // consecutive failures that open; 0 disables
  std::chrono::milliseconds cool_down{30'000};
  int half_open_probes = 1;  // concurrent probes while half-open
};

enum class BreakerState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };

class CircuitBreaker {
 public:
  // `gauge` (may be null) is set to the state's number (0, 1, 2) on every change.
  CircuitBreaker(BreakerConfig config, const Clock& clock, metrics::GaugeSeries* gauge);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept : breaker_(other.breaker_), probe_(other.probe_) {
      other.breaker_ = nullptr;
    }
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket() { Abandon(); }

    // Whether the breaker admitted the call. A refused call must not be made.
    explicit operator bool() const { return breaker_ != nullptr; }
    void Success();
    void Failure();
    // No verdict on the upstream's health (the caller gave up): frees the slot.
    void Abandon();

   private:
    friend class CircuitBreaker;
    Ticket(CircuitBreaker* breaker, bool probe) : breaker_(breaker), probe_(probe) {}
    CircuitBreaker* breaker_ = nullptr;
    bool probe_ = false;
  };

  // Admits a call (a Ticket that tests true) or refuses it while open, or while
  // half-open with every probe slot taken.
  Ticket TryAcquire();

  // The current state, turning open into half-open once the cool-down is over.
  BreakerState state();
  // Time left before an open breaker lets a probe through; zero otherwise.
  std::chrono::milliseconds RemainingCoolDown();

 private:
  enum class Outcome { kSuccess, kFailure, kAbandon };
  void Report(bool probe, Outcome outcome);
  void SetState(BreakerState s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeHalfOpen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BreakerConfig config_;
  const Clock& clock_;
  metrics::GaugeSeries* const gauge_;
  absl::Mutex mu_;
  BreakerState state_ ABSL_GUARDED_BY(mu_) = BreakerState::kClosed;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int probes_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point opened_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::models
