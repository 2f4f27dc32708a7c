// Clock: the one source of time. Code that needs "now" takes a Clock& so tests
// can inject a FakeClock. Thread-safety: RealClock is stateless; FakeClock is
// safe to read from any thread and advanced by the test.
#pragma once

#include <atomic>
#include <chrono>

namespace basalt {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps shown to users and stored in records.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for deadlines and durations.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;
};

class RealClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::now();
  }
  static RealClock& Instance() {
    static RealClock clock;
    return clock;
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)))
      : offset_ns_(0), start_(start) {}
  std::chrono::system_clock::time_point Now() const override {
    return start_ + std::chrono::nanoseconds(offset_ns_.load());
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(offset_ns_.load()));
  }
  void Advance(std::chrono::nanoseconds by) { offset_ns_ += by.count(); }

 private:
  std::atomic<long long> offset_ns_;
  std::chrono::system_clock::time_point start_;
};

}  // namespace basalt
