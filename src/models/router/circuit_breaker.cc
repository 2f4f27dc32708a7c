#include "models/router/circuit_breaker.h"

#include <algorithm>
#include <utility>

namespace basalt::models {

CircuitBreaker::CircuitBreaker(BreakerConfig config, const Clock& clock,
                               metrics::GaugeSeries* gauge)
    : config_(config), clock_(clock), gauge_(gauge) {
  if (gauge_ != nullptr) gauge_->Set(0);
}

CircuitBreaker::Ticket& CircuitBreaker::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Abandon();
    breaker_ = std::exchange(other.breaker_, nullptr);
    probe_ = other.probe_;
  }
  return *this;
}

void CircuitBreaker::Ticket::Success() {
  if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) b->Report(probe_, Outcome::kSuccess);
}

void CircuitBreaker::Ticket::Failure() {
  if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) b->Report(probe_, Outcome::kFailure);
}

void CircuitBreaker::Ticket::Abandon() {
  if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) b->Report(probe_, Outcome::kAbandon);
}

void CircuitBreaker::SetState(BreakerState s) {
  if (state_ == s) return;
  state_ = s;
  if (gauge_ != nullptr) gauge_->Set(static_cast<double>(s));
}

void CircuitBreaker::MaybeHalfOpen() {
  if (state_ == BreakerState::kOpen && clock_.Steady() - opened_at_ >= config_.cool_down) {
    SetState(BreakerState::kHalfOpen);
  }
}

CircuitBreaker::Ticket CircuitBreaker::TryAcquire() {
  if (config_.failure_threshold <= 0) return Ticket(this, false);
  absl::MutexLock lock(&mu_);
  MaybeHalfOpen();
  switch (state_) {
    case BreakerState::kClosed:
      return Ticket(this, false);
    case BreakerState::kHalfOpen:
      if (probes_in_flight_ >= std::max(config_.half_open_probes, 1)) return Ticket();
      ++probes_in_flight_;
      return Ticket(this, true);
    case BreakerState::kOpen:
      return Ticket();
  }
  return Ticket();
}

void CircuitBreaker::Report(bool probe, Outcome outcome) {
  if (config_.failure_threshold <= 0) return;
  absl::MutexLock lock(&mu_);
  // Probe slots are counted, never reset, so a probe still running from an
  // earlier half-open period keeps its slot until it reports.
  if (probe) --probes_in_flight_;
  switch (outcome) {
    case Outcome::kAbandon:
      return;
    case Outcome::kSuccess:
      // A call admitted before the breaker opened says little about the upstream
      // now; only probes (and calls while closed or half-open) close it.
      if (state_ == BreakerState::kOpen && !probe) return;
      consecutive_failures_ = 0;
      SetState(BreakerState::kClosed);
      return;
    case Outcome::kFailure:
      if (state_ == BreakerState::kOpen) return;
      if (state_ == BreakerState::kHalfOpen ||
          ++consecutive_failures_ >= config_.failure_threshold) {
        consecutive_failures_ = 0;
        opened_at_ = clock_.Steady();
        SetState(BreakerState::kOpen);
      }
      return;
  }
}

BreakerState CircuitBreaker::state() {
  absl::MutexLock lock(&mu_);
  MaybeHalfOpen();
  return state_;
}

std::chrono::milliseconds CircuitBreaker::RemainingCoolDown() {
  absl::MutexLock lock(&mu_);
  MaybeHalfOpen();
  if (state_ != BreakerState::kOpen) return std::chrono::milliseconds(0);
  const auto left = config_.cool_down - (clock_.Steady() - opened_at_);
  return std::max(std::chrono::ceil<std::chrono::milliseconds>(left), std::chrono::milliseconds(0));
}

}  // namespace basalt::models
