#include "models/router/backoff.h"

#include <algorithm>
#include <memory>

namespace basalt::models {

std::unique_ptr<Random> SeededRandom::FromEntropy() {
  std::random_device device;
  const uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
  return std::make_unique<SeededRandom>(seed);
}

uint64_t SeededRandom::UniformUpTo(uint64_t max) {
  std::uniform_int_distribution<uint64_t> dist(0, max);
  absl::MutexLock lock(&mu_);
  return dist(engine_);
}

std::chrono::milliseconds BackoffCeiling(const BackoffPolicy& policy, int retry) {
  const int64_t base = std::max<int64_t>(policy.base.count(), 0);
  const int64_t cap = std::max<int64_t>(policy.cap.count(), 0);
  if (base == 0 || cap == 0) return std::chrono::milliseconds(0);
  int64_t ceiling = base;
  // Doubling stops as soon as the cap is reached, so this never overflows.
  for (int i = 0; i < retry && ceiling < cap; ++i) ceiling *= 2;
  return std::chrono::milliseconds(std::min(ceiling, cap));
}

std::chrono::milliseconds FullJitterBackoff(const BackoffPolicy& policy, int retry,
                                            Random& random) {
  const auto ceiling = BackoffCeiling(policy, retry);
  return std::chrono::milliseconds(
      static_cast<int64_t>(random.UniformUpTo(static_cast<uint64_t>(ceiling.count()))));
}

}  // namespace basalt::models
