#include "tenancy/jose/jwks_cache.h"

#include <fstream>
#include <iterator>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/strings.h"

namespace basalt::jose {

namespace asio = boost::asio;

struct JwksCache::Waiter {
  explicit Waiter(asio::any_io_executor executor) : done(std::move(executor), 1) {}
  // Capacity 1: the fetcher's try_send succeeds even before the waiter waits.
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

JwksFetcher FileJwksFetcher(std::string path) {
  return [path = std::move(path)]() -> asio::awaitable<absl::StatusOr<std::string>> {
    std::ifstream in(path, std::ios::binary);
    if (!in) co_return absl::UnavailableError(StrCat("cannot read JWKS file ", path));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    co_return text;
  };
}

JwksCache::JwksCache(JwksFetcher fetcher, JwksCacheOptions options, const Clock& clock)
    : fetcher_(std::move(fetcher)), options_(std::move(options)), clock_(clock) {}

JwksCache::~JwksCache() = default;

std::shared_ptr<const KeySet> JwksCache::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

int JwksCache::fetches_for_test() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

bool JwksCache::ShouldFetchLocked() const {
  return !attempted_ || clock_.Steady() - attempted_at_ >= options_.min_refresh_interval;
}

asio::awaitable<absl::Status> JwksCache::Refresh() {
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  std::shared_ptr<Waiter> waiter;
  bool lead = false;
  absl::Status recent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_) {
      waiter = std::make_shared<Waiter>(executor);
      waiters_.push_back(waiter);
    } else if (ShouldFetchLocked()) {
      in_flight_ = true;
      attempted_ = true;
      attempted_at_ = clock_.Steady();
      ++fetches_;
      lead = true;
    } else {
      recent = last_status_;
    }
  }
  if (waiter) {
    auto [ec] = co_await waiter->done.async_receive(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    std::lock_guard<std::mutex> lock(mu_);
    co_return last_status_;
  }
  if (!lead) co_return recent;

  absl::StatusOr<std::string> body = absl::UnavailableError("JWKS fetch failed");
  try {
    body = co_await fetcher_();
  } catch (const std::exception& e) {
    body = absl::UnavailableError(StrCat("JWKS fetch failed: ", e.what()));
  }
  absl::Status status;
  std::shared_ptr<const KeySet> parsed;
  if (!body.ok()) {
    status = absl::UnavailableError(StrCat("JWKS fetch failed: ", ToStd(body.status().message())));
  } else {
    absl::StatusOr<KeySet> set = KeySet::ParseJwks(*body, options_.jwks);
    if (set.ok()) {
      parsed = std::make_shared<const KeySet>(*std::move(set));
    } else {
      status = set.status();
    }
  }
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (parsed) {
      current_ = std::move(parsed);
      loaded_at_ = clock_.Steady();
    }
    last_status_ = status;
    in_flight_ = false;
    waiters.swap(waiters_);
  }
  for (const auto& w : waiters) w->done.try_send(boost::system::error_code());
  co_return status;
}

asio::awaitable<absl::StatusOr<std::shared_ptr<const KeySet>>> JwksCache::Get() {
  bool stale;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stale = !current_ || clock_.Steady() - loaded_at_ >= options_.ttl;
  }
  if (stale) {
    absl::Status refreshed = co_await Refresh();
    (void)refreshed;  // old keys stay usable when a refresh fails
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (current_) co_return current_;
  if (!last_status_.ok()) co_return last_status_;
  co_return absl::UnavailableError("no JWKS loaded yet");
}

namespace {

absl::StatusOr<VerifiedJwt> VerifyWith(std::string_view token, const KeySet* jwks,
                                       const KeySet* configured, const JwtPolicy& policy,
                                       int64_t now) {
  absl::StatusOr<VerifiedJwt> result = absl::NotFoundError("no key");
  if (configured != nullptr) {
    result = VerifyJwt(token, *configured, policy, now);
    if (result.status().code() != absl::StatusCode::kNotFound) return result;
  }
  if (jwks != nullptr) result = VerifyJwt(token, *jwks, policy, now);
  return result;
}

}  // namespace

asio::awaitable<absl::StatusOr<VerifiedJwt>> VerifyJwtWithCache(
    std::string token, JwksCache& cache, std::shared_ptr<const KeySet> configured,
    const JwtPolicy& policy, const Clock& clock) {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
  absl::StatusOr<std::shared_ptr<const KeySet>> keys = co_await cache.Get();
  const KeySet* jwks = keys.ok() ? keys->get() : nullptr;
  if (jwks == nullptr && configured == nullptr) co_return keys.status();
  absl::StatusOr<VerifiedJwt> result = VerifyWith(token, jwks, configured.get(), policy, now);
  if (result.status().code() != absl::StatusCode::kNotFound) co_return result;

  absl::Status refreshed = co_await cache.Refresh();
  (void)refreshed;
  std::shared_ptr<const KeySet> fresh = cache.Current();
  if (fresh) result = VerifyWith(token, fresh.get(), configured.get(), policy, now);
  if (result.status().code() == absl::StatusCode::kNotFound) {
    co_return absl::UnauthenticatedError(result.status().message());
  }
  co_return result;
}

}  // namespace basalt::jose
