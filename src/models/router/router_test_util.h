// Shared by the router's tests: a fixture with fake providers, a controllable
// Random, and a way to run a coroutine to completion on the test's io_context.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "core/metrics.h"
#include "models/fake_provider.h"
#include "models/router/router.h"

namespace basalt::models::testing {

namespace asio = boost::asio;

// Returns max (or 0) every time and records the bounds it was asked for.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(bool maximal) : maximal_(maximal) {}
  uint64_t UniformUpTo(uint64_t max) override {
    absl::MutexLock lock(&mu_);
    bounds_.push_back(max);
    return maximal_ ? max : 0;
  }
  std::vector<uint64_t> bounds() {
    absl::MutexLock lock(&mu_);
    return bounds_;
  }

 private:
  const bool maximal_;
  absl::Mutex mu_;
  std::vector<uint64_t> bounds_;
};

inline ChatRequest Req(std::string model, std::string text = "hello there") {
  ChatRequest request;
  request.model = std::move(model);
  Message message;
  message.content.push_back(ContentBlock::Text(std::move(text)));
  request.messages.push_back(std::move(message));
  return request;
}

inline AliasConfig Alias(std::string name, std::vector<TargetConfig> targets) {
  AliasConfig alias;
  alias.name = std::move(name);
  alias.targets = std::move(targets);
  return alias;
}

// Small, fast settings: tests override what they exercise.
inline RouterOptions FastOptions() {
  RouterOptions options;
  options.retry.max_attempts = 1;
  options.retry.backoff.base = std::chrono::milliseconds(1);
  options.retry.backoff.cap = std::chrono::milliseconds(4);
  options.retry.attempt_timeout = std::chrono::milliseconds(2000);
  options.breaker.failure_threshold = 0;
  return options;
}

class RouterTest : public ::testing::Test {
 protected:
  FakeProvider* AddProvider(const std::string& name) {
    auto fake = std::make_unique<FakeProvider>(name);
    FakeProvider* raw = fake.get();
    EXPECT_TRUE(registry_.Register(std::move(fake)).ok());
    return raw;
  }

  std::unique_ptr<Router> MakeRouter(CatalogConfig catalog, RouterOptions options,
                                     const Clock& clock = RealClock::Instance(),
                                     bool maximal_jitter = false) {
    auto random = std::make_unique<FixedRandom>(maximal_jitter);
    random_ = random.get();
    auto router = Router::Create(registry_, std::move(catalog), std::move(options), metrics_, clock,
                                 std::move(random));
    EXPECT_TRUE(router.ok()) << router.status();
    return router.ok() ? *std::move(router) : nullptr;
  }

  // Runs `op` to completion on io_ and returns its result.
  template <class T>
  T Run(asio::awaitable<T> op) {
    std::optional<T> result;
    asio::co_spawn(io_, std::move(op), [&](std::exception_ptr e, T value) {
      EXPECT_FALSE(e) << "the coroutine threw";
      result = std::move(value);
    });
    io_.run();
    io_.restart();
    return std::move(*result);
  }

  // Starts one Chat per context at once on io_ and runs them all to completion.
  std::vector<absl::StatusOr<ChatResponse>> ChatConcurrently(
      Router& router, const std::string& model, const std::vector<RequestContext>& ctxs) {
    std::vector<absl::StatusOr<ChatResponse>> results(ctxs.size(), absl::UnknownError("unset"));
    for (size_t i = 0; i < ctxs.size(); ++i) {
      asio::co_spawn(
          io_,
          [&, i]() -> asio::awaitable<void> {
            ChatRequest request = Req(model);
            results[i] = co_await router.Chat(ctxs[i], std::move(request), nullptr);
          },
          asio::detached);
    }
    io_.run();
    io_.restart();
    return results;
  }

  // The value of one rendered series, e.g. `basalt_model_retries_total{provider="a"}`;
  // nullopt when it is not rendered.
  std::optional<double> Metric(const std::string& series) {
    std::istringstream lines(metrics_.Render());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return std::nullopt;
  }

  static double Millis(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  }

  asio::io_context io_;
  ProviderRegistry registry_;
  metrics::Registry metrics_;
  FixedRandom* random_ = nullptr;
};

}  // namespace basalt::models::testing
