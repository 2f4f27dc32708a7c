// The model worker and the service against the real embedded bus and a
// scripted model: outcomes, retries, dead letters, cancellation, events.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "async/model_worker.h"
#include "async/service.h"
#include "bus/embedded/sqlite_bus.h"
#include "gtest/gtest.h"
#include "models/fake_provider.h"
#include "store/memory/memory_store.h"
#include "core/status.h"
#include "store/store_test_util.h"

namespace basalt::async {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using ::basalt::testing::TempDir;

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() : metrics_(registry_) {
    config_.retry_backoff_base_ms = 0;  // retries at once
    config_.visibility_timeout_ms = 30000;
    config_.poll_interval_ms = 20;
    auto bus = bus::SqliteBus::Open(dir_.File("bus.db"), {}, pool_, clock_);
    EXPECT_TRUE(bus.ok()) << bus.status();
    bus_ = *std::move(bus);
    service_ = std::make_unique<AsyncService>(*bus_, store_, pool_, cancels_, throughput_, metrics_,
                                              config_, clock_);
    worker_ = std::make_unique<ModelWorker>(*bus_, fake_, io_, config_, 4, cancels_, limiter_,
                                            metrics_, clock_);
  }

  // Submits one request, runs the io_context until `done` says so (or 10 s).
  std::string SubmitAndRun(std::function<bool(const bus::Job&)> done) {
    std::string id;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
      auto options = service_->ParseInvocation(
          json::parse(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"));
      EXPECT_TRUE(options.ok()) << options.status();
      auto submitted = co_await service_->Submit("t1", *std::move(options));
      EXPECT_TRUE(submitted.ok()) << submitted.status();
      id = submitted->job.id;
      worker_->Start();
      asio::steady_timer timer(io_);
      for (int i = 0; i < 1000; ++i) {
        auto job = co_await service_->Get("t1", id);
        if (job.ok() && done(*job)) break;
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::use_awaitable);
      }
      worker_->Stop();
      io_.stop();
    }, asio::detached);
    io_.run();
    io_.restart();
    return id;
  }

  bus::Job Load(const std::string& id) {
    bus::Job out;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
      auto job = co_await service_->Get("t1", id);
      EXPECT_TRUE(job.ok());
      out = *job;
    }, asio::detached);
    io_.run();
    io_.restart();
    return out;
  }

  std::vector<std::string> EventTypes(const std::string& id) {
    std::vector<std::string> types;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
      auto events = co_await bus_->EventsFor("t1", id, 0);
      EXPECT_TRUE(events.ok());
      for (const auto& e : *events) types.push_back(e.type);
    }, asio::detached);
    io_.run();
    io_.restart();
    return types;
  }

  TempDir dir_;
  BlockingPool pool_{2, 1024};
  RealClock clock_;
  metrics::Registry registry_;
  AsyncMetrics metrics_;
  AsyncConfig config_;
  MemoryStore memory_;
  AsyncStore store_{memory_, pool_};
  CancelRegistry cancels_;
  ModelLimiter limiter_{4};
  Throughput throughput_;
  models::FakeProvider fake_{"fake"};
  asio::io_context io_;
  std::unique_ptr<bus::SqliteBus> bus_;
  std::unique_ptr<AsyncService> service_;
  std::unique_ptr<ModelWorker> worker_;
};

TEST_F(WorkerTest, CompletesWithAnOpenAiResultAndPublishesEachTransition) {
  const std::string id =
      SubmitAndRun([](const bus::Job& j) { return j.state == bus::JobState::kSucceeded; });
  const bus::Job job = Load(id);
  ASSERT_EQ(job.state, bus::JobState::kSucceeded);
  const json result = json::parse(job.result);
  EXPECT_EQ(result["object"], "chat.completion");
  EXPECT_EQ(result["choices"][0]["message"]["content"], "fake answered m");
  EXPECT_EQ(EventTypes(id), (std::vector<std::string>{"genai.request.received",
                                                      "genai.request.processing",
                                                      "genai.request.completed"}));
}

TEST_F(WorkerTest, RetryableFailuresAreRetriedThenDeadLettered) {
  fake_.SetDefault(models::FakeProvider::Step::Fail(absl::UnavailableError("upstream 503")));
  const std::string id = SubmitAndRun([](const bus::Job& j) { return bus::IsTerminal(j.state); });
  const bus::Job job = Load(id);
  EXPECT_EQ(job.state, bus::JobState::kDead);
  EXPECT_EQ(job.attempts, 3);
  EXPECT_NE(job.error.find("upstream 503"), std::string::npos);
  EXPECT_EQ(fake_.calls(), 3);
  const auto types = EventTypes(id);
  EXPECT_EQ(std::count(types.begin(), types.end(), "genai.request.processing"), 3);
  EXPECT_EQ(std::count(types.begin(), types.end(), "genai.request.failed"), 1);
  EXPECT_EQ(types.back(), "genai.request.failed");
}

TEST_F(WorkerTest, AnInvalidRequestFailsWithoutRetrying) {
  fake_.SetDefault(models::FakeProvider::Step::Fail(absl::InvalidArgumentError("bad tool")));
  const std::string id = SubmitAndRun([](const bus::Job& j) { return bus::IsTerminal(j.state); });
  const bus::Job job = Load(id);
  EXPECT_EQ(job.state, bus::JobState::kDead);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(fake_.calls(), 1);
}

TEST_F(WorkerTest, CancelInterruptsARunningCall) {
  fake_.SetDefault(models::FakeProvider::Step::Slow(std::chrono::seconds(30)));
  std::string id;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    auto options = service_->ParseInvocation(
        json::parse(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"));
    auto submitted = co_await service_->Submit("t1", *std::move(options));
    id = submitted->job.id;
    worker_->Start();
    asio::steady_timer timer(io_);
    while (fake_.calls() == 0) {
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(asio::use_awaitable);
    }
    auto cancelled = co_await service_->Cancel("t1", id);
    EXPECT_TRUE(cancelled.ok()) << cancelled.status();
    auto again = co_await service_->Cancel("t1", id);
    EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
    for (int i = 0; i < 200 && fake_.cancellations() == 0; ++i) {
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(asio::use_awaitable);
    }
    worker_->Stop();
    io_.stop();
  }, asio::detached);
  io_.run();
  io_.restart();
  EXPECT_EQ(fake_.cancellations(), 1) << "the model call was interrupted";
  EXPECT_EQ(Load(id).state, bus::JobState::kCancelled);
  EXPECT_EQ(EventTypes(id).back(), "genai.request.cancelled");
}

TEST_F(WorkerTest, SameClientTokenReturnsTheSameJobAndADifferentBodyConflicts) {
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    auto a = service_->ParseInvocation(json::parse(
        R"({"model":"m","client_token":"k1","messages":[{"role":"user","content":"hi"}]})"));
    auto b = service_->ParseInvocation(json::parse(
        R"({"model":"m","client_token":"k1","messages":[{"role":"user","content":"hi"}]})"));
    auto c = service_->ParseInvocation(json::parse(
        R"({"model":"m","client_token":"k1","messages":[{"role":"user","content":"other"}]})"));
    auto first = co_await service_->Submit("t1", *std::move(a));
    auto second = co_await service_->Submit("t1", *std::move(b));
    auto third = co_await service_->Submit("t1", *std::move(c));
    EXPECT_TRUE(first.ok() && first->created);
    EXPECT_TRUE(second.ok() && !second->created);
    EXPECT_EQ(second->job.id, first->job.id);
    EXPECT_EQ(third.status().code(), absl::StatusCode::kAlreadyExists);
  }, asio::detached);
  io_.run();
}

TEST_F(WorkerTest, ValidationNamesTheField) {
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {R"({"messages":[{"role":"user","content":"hi"}]})", "model"},
      {R"({"model":"m","messages":"hi"})", "messages"},
      {R"({"model":"m","messages":[{"role":"user","content":"hi"}],"priority":12})", "priority"},
      {R"({"model":"m","messages":[{"role":"user","content":"hi"}],"callback_url":"ftp://x"})",
       "callback_url"},
      {R"({"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":[1]})", "metadata"},
      {R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true})", "stream"},
      {R"({"model":"m","messages":[{"role":"wizard","content":"hi"}]})", "messages[0].role"},
  };
  for (const Case& c : cases) {
    auto parsed = service_->ParseInvocation(json::parse(c.body));
    ASSERT_FALSE(parsed.ok()) << c.body;
    EXPECT_EQ(ParamOf(parsed.status()), c.field) << parsed.status().message();
  }
}

}  // namespace
}  // namespace basalt::async
