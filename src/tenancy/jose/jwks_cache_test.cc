// JwksCache with a fake fetcher and a FakeClock inside an io_context.
#include "tenancy/jose/jwks_cache.h"

#include <fstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "tenancy/jose/jwt_test_fixture.h"

namespace basalt::jose {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using testing::MakeJws;
using testing::TestKey;

struct FakeJwks {
  std::string body;
  bool fail = false;
  int calls = 0;
  std::chrono::milliseconds delay{0};
};

JwksFetcher FetcherFor(FakeJwks* fake) {
  return [fake]() -> asio::awaitable<absl::StatusOr<std::string>> {
    ++fake->calls;
    if (fake->delay.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, fake->delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (fake->fail) co_return absl::UnavailableError("connection refused");
    co_return fake->body;
  };
}

template <class T>
T RunOp(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); },
      asio::detached);
  io.run();
  io.restart();
  return *std::move(out);
}

class JwksCacheTest : public testing::JwtFixture {
 protected:
  std::string Jwks(const TestKey& key, const std::string& kid) {
    return json{{"keys", {key.Jwk(kid, "ES256")}}}.dump();
  }
  JwksCacheOptions Options() {
    JwksCacheOptions o;
    o.jwks.algorithms = AlgSet::Of(policy_.algorithms);
    return o;
  }
  asio::io_context io_;
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(kNow))};
};

TEST_F(JwksCacheTest, LoadsOnFirstUseAndKeepsKeysForTheTtl) {
  FakeJwks fake{Jwks(*ec_, "ec")};
  JwksCache cache(FetcherFor(&fake), Options(), clock_);
  EXPECT_EQ(cache.Current(), nullptr);
  auto first = RunOp(io_, cache.Get());
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = RunOp(io_, cache.Get());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(fake.calls, 1);
  clock_.Advance(std::chrono::seconds(601));
  auto third = RunOp(io_, cache.Get());
  EXPECT_EQ(fake.calls, 2);
  EXPECT_NE(*first, *third);
}

TEST_F(JwksCacheTest, RefreshIsRateLimited) {
  FakeJwks fake{Jwks(*ec_, "ec")};
  JwksCache cache(FetcherFor(&fake), Options(), clock_);
  EXPECT_TRUE(RunOp(io_, cache.Refresh()).ok());
  EXPECT_TRUE(RunOp(io_, cache.Refresh()).ok());
  EXPECT_EQ(fake.calls, 1);
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_TRUE(RunOp(io_, cache.Refresh()).ok());
  EXPECT_EQ(fake.calls, 2);
}

TEST_F(JwksCacheTest, ConcurrentCallersShareOneFetch) {
  FakeJwks fake{Jwks(*ec_, "ec")};
  fake.delay = std::chrono::milliseconds(20);
  JwksCache cache(FetcherFor(&fake), Options(), clock_);
  int ok = 0;
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          absl::Status s = co_await cache.Refresh();
          if (s.ok()) ++ok;
        },
        asio::detached);
  }
  io_.run();
  EXPECT_EQ(fake.calls, 1);
  EXPECT_EQ(ok, 8);
}

TEST_F(JwksCacheTest, ConcurrentCallersFromTwoThreads) {
  FakeJwks fake{Jwks(*ec_, "ec")};
  fake.delay = std::chrono::milliseconds(20);
  JwksCache cache(FetcherFor(&fake), Options(), clock_);
  std::atomic<int> ok{0};
  asio::io_context other;
  for (asio::io_context* io : {&io_, &other}) {
    for (int i = 0; i < 4; ++i) {
      asio::co_spawn(
          *io,
          [&]() -> asio::awaitable<void> {
            auto keys = co_await cache.Get();
            if (keys.ok()) ++ok;
          },
          asio::detached);
    }
  }
  std::thread t([&] { other.run(); });
  io_.run();
  t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(fake.calls, 1);
}

TEST_F(JwksCacheTest, FailedRefreshKeepsTheOldKeys) {
  FakeJwks fake{Jwks(*ec_, "ec")};
  JwksCache cache(FetcherFor(&fake), Options(), clock_);
  ASSERT_TRUE(RunOp(io_, cache.Get()).ok());
  fake.fail = true;
  clock_.Advance(std::chrono::seconds(700));
  EXPECT_EQ(RunOp(io_, cache.Refresh()).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(RunOp(io_, cache.Get()).ok());
  fake.fail = false;
  fake.body = "{not json";
  clock_.Advance(std::chrono::seconds(31));
  EXPECT_EQ(RunOp(io_, cache.Refresh()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cache.Current(), nullptr);
}

TEST_F(JwksCacheTest, NoKeysAtAllIsAnError) {
  FakeJwks fake;
  fake.fail = true;
  JwksCache cache(FetcherFor(&fake), Options(), clock_);
  EXPECT_EQ(RunOp(io_, cache.Get()).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(JwksCacheTest, UnknownKidTriggersOneRefreshThenUnauthenticated) {
  TestKey next = TestKey::Generate(Alg::kES256);
  FakeJwks fake{Jwks(*ec_, "ec")};
  JwksCache cache(FetcherFor(&fake), Options(), clock_);
  ASSERT_TRUE(RunOp(io_, cache.Get()).ok());
  // The issuer rotates to kid "next"; a token under it arrives.
  fake.body = json{{"keys", {ec_->Jwk("ec", "ES256"), next.Jwk("next", "ES256")}}}.dump();
  clock_.Advance(std::chrono::seconds(31));
  std::string token = MakeJws({{"alg", "ES256"}, {"kid", "next"}}, Claims().dump(), next, Alg::kES256);
  auto r = RunOp(io_, VerifyJwtWithCache(token, cache, nullptr, policy_, clock_));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(fake.calls, 2);
  // Unknown kids right after: no new fetch inside the interval, and a plain 401.
  std::string bogus = MakeJws({{"alg", "ES256"}, {"kid", "bogus"}}, Claims().dump(), next, Alg::kES256);
  auto b = RunOp(io_, VerifyJwtWithCache(bogus, cache, nullptr, policy_, clock_));
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(fake.calls, 2);
}

TEST_F(JwksCacheTest, FileFetcherReadsAFile) {
  std::string path = ::testing::TempDir() + "/jwks.json";
  {
    std::ofstream out(path);
    out << Jwks(*ec_, "ec");
  }
  JwksCache cache(FileJwksFetcher(path), Options(), clock_);
  EXPECT_TRUE(RunOp(io_, cache.Get()).ok());
  JwksCache missing(FileJwksFetcher(path + ".missing"), Options(), clock_);
  EXPECT_EQ(RunOp(io_, missing.Get()).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace basalt::jose
