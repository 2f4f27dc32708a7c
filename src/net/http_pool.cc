#include "net/http_pool.h"

#include <boost/asio/steady_timer.hpp>
#include <utility>

#include "absl/status/status.h"

namespace basalt::net::client_internal {

namespace asio = boost::asio;

Lease::Lease(std::shared_ptr<HostPool> pool, std::unique_ptr<Connection> conn)
    : pool_(std::move(pool)), conn_(std::move(conn)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release(/*reusable=*/false);
    pool_ = std::move(other.pool_);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

Lease::~Lease() { Release(/*reusable=*/false); }

void Lease::Discard() {
  if (conn_) conn_->Close();
  conn_.reset();
}

void Lease::Return() { Release(/*reusable=*/true); }

void Lease::Release(bool reusable) {
  if (!pool_) return;
  if (conn_ && !reusable) Discard();
  std::shared_ptr<HostPool> pool = std::move(pool_);
  pool->Release(std::move(conn_));
}

struct HostPool::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool granted = false;              // Release() handed this waiter a slot
  std::unique_ptr<Connection> conn;  // and maybe an idle connection with it
};

HostPool::HostPool(asio::any_io_executor executor, std::string origin, int64_t max_connections,
                   std::chrono::milliseconds idle_timeout)
    : executor_(std::move(executor)),
      origin_(std::move(origin)),
      max_connections_(max_connections),
      idle_timeout_(idle_timeout) {}

HostPool::~HostPool() {
  for (auto& conn : idle_) conn->Close();
}

void HostPool::DropExpired(Clock::time_point now) {
  while (!idle_.empty() && now - idle_.front()->idle_since() >= idle_timeout_) {
    idle_.front()->Close();
    idle_.pop_front();
  }
}

void HostPool::Release(std::unique_ptr<Connection> conn) {
  if (conn) {
    conn->set_reused();
    conn->set_idle_since(Clock::now());
    conn->tcp().expires_never();
  }
  if (!waiters_.empty()) {
    // Hand the slot over directly, so a newcomer cannot overtake a waiter.
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    waiter->granted = true;
    waiter->conn = std::move(conn);
    waiter->timer.cancel();
    return;
  }
  --leased_;
  if (conn) idle_.push_back(std::move(conn));
}

asio::awaitable<absl::StatusOr<Lease>> HostPool::Acquire(Clock::time_point deadline) {
  // Keeps the pool alive for this frame, even if the client goes away meanwhile.
  std::shared_ptr<HostPool> self = shared_from_this();
  DropExpired(Clock::now());
  // Most recently used first: the likeliest still to be open at the far end.
  while (!idle_.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle_.back());
    idle_.pop_back();
    if (conn->LooksAlive()) {
      ++leased_;
      co_return Lease(self, std::move(conn));
    }
    conn->Close();
  }
  if (leased_ + static_cast<int64_t>(idle_.size()) < max_connections_) {
    ++leased_;
    co_return Lease(self, nullptr);
  }

  Waiter waiter(executor_);
  waiter.timer.expires_at(deadline);
  waiters_.push_back(&waiter);
  const auto position = std::prev(waiters_.end());
  // Runs however this frame ends (result, exception, or destruction while
  // suspended): leave the queue, or pass on a slot granted but never taken.
  struct Unqueue {
    HostPool* pool;
    Waiter* waiter;
    std::list<Waiter*>::iterator position;
    bool taken = false;
    ~Unqueue() {
      if (!waiter->granted) {
        pool->waiters_.erase(position);
      } else if (!taken) {
        pool->Release(std::move(waiter->conn));
      }
    }
  } unqueue{this, &waiter, position};

  auto [ec] = co_await waiter.timer.async_wait(kAsTuple);
  if (waiter.granted) {
    unqueue.taken = true;
    co_return Lease(self, std::move(waiter.conn));
  }
  if (!ec) {
    co_return absl::DeadlineExceededError("timed out waiting for a connection to " + origin_ +
                                          " (all " + std::to_string(max_connections_) + " in use)");
  }
  co_return absl::CancelledError("waiting for a connection to " + origin_ + " cancelled");
}

}  // namespace basalt::net::client_internal
