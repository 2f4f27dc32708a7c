// Retry back-off: exponential with FULL jitter (AWS Architecture Blog,
// "Exponential Backoff And Jitter"): before retry n (0-based) wait a uniformly
// random time in [0, min(cap, base * 2^n)]. Full jitter spreads a burst of
// clients that failed together so they do not retry in lock-step.
//
// Randomness is injected through `Random` so tests can use a fixed seed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace basalt::models {

// A source of uniform random integers. Implementations must be thread-safe: the
// router calls it from every io thread.
class Random {
 public:
  virtual ~Random() = default;
  // A uniformly distributed value in [0, max], inclusive.
  virtual uint64_t UniformUpTo(uint64_t max) = 0;
};

// Mersenne Twister behind a mutex; the same seed gives the same sequence.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  // Seeded from std::random_device.
  static std::unique_ptr<Random> FromEntropy();
  uint64_t UniformUpTo(uint64_t max) override;

 private:
  absl::Mutex mu_;
  std::mt19937_64 engine_ ABSL_GUARDED_BY(mu_);
};

struct BackoffPolicy {
  std::chrono::milliseconds base{100};  // first retry waits up to this
  std::chrono::milliseconds cap{5000};  // no wait is ever longer
};

// The upper bound of the jitter window before retry `retry` (0-based):
// min(cap, base * 2^retry), without overflow for any `retry`.
[[nodiscard]] std::chrono::milliseconds BackoffCeiling(const BackoffPolicy& policy, int retry);

// A full-jitter wait before retry `retry`: uniform in [0, BackoffCeiling()].
[[nodiscard]] std::chrono::milliseconds FullJitterBackoff(const BackoffPolicy& policy, int retry,
                                                          Random& random);

}  // namespace basalt::models
