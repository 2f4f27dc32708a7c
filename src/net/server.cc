#include "net/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "core/strings.h"
#include "core/log.h"
#include "net/connection.h"

namespace basalt::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kUnwindAfterClose = std::chrono::milliseconds(200);

const std::string& BusyResponse() {
  static const std::string response = [] {
    const std::string body =
        R"json({"error":{"message":"too many open connections (server.max_connections)",)json"
        R"json("type":"service_unavailable_error","code":"unavailable"}})json";
    return StrCat(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Retry-After: 1\r\nConnection: close\r\nContent-Length: ",
        body.size(), "\r\n\r\n", body);
  }();
  return response;
}

// Refuses one connection over the limit with a short, fixed answer.
asio::awaitable<void> RefuseConnection(tcp::socket socket) {
  asio::steady_timer timer(socket.get_executor(), std::chrono::seconds(1));
  timer.async_wait([&socket](boost::system::error_code ec) {
    if (!ec) socket.close(ec);
  });
  co_await asio::async_write(socket, asio::buffer(BusyResponse()), asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ignored;
  timer.cancel();
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace

Server::Server(const ServerConfig& config, const Router& router, metrics::Registry& registry,
               const Authenticator* authenticator)
    : config_(config), router_(router), registry_(registry), authenticator_(authenticator) {
  size_t threads = config_.io_threads > 0 ? static_cast<size_t>(config_.io_threads)
                                          : std::max(1u, std::thread::hardware_concurrency());
  metrics_ = std::make_unique<ServerMetrics>(registry_);
  for (size_t i = 0; i < threads; ++i) {
    workers_.push_back(
        std::make_unique<Worker>(config_, router_, *metrics_, authenticator_, open_connections_));
  }
}

Server::~Server() = default;

asio::io_context& Server::io_context(size_t i) { return workers_.at(i)->ioc(); }
size_t Server::io_threads() const { return workers_.size(); }

absl::Status Server::Listen() {
  const std::string where = StrCat(config_.host, ":", config_.port);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(config_.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        StrCat("server.host: '", config_.host, "' is not an IP address"));
  }
  tcp::endpoint endpoint(address, static_cast<uint16_t>(config_.port));
  acceptor_ = std::make_unique<tcp::acceptor>(workers_[0]->ioc());
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot listen on ", where, ": ", ec.message()));
  port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(workers_[0]->ioc(), AcceptLoop(), asio::detached);
  return absl::OkStatus();
}

asio::awaitable<void> Server::AcceptLoop() {
  while (!stopping_.load()) {
    Worker& worker = *workers_[next_worker_];
    next_worker_ = (next_worker_ + 1) % workers_.size();
    auto [ec, socket] = co_await acceptor_->async_accept(worker.ioc(), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_.load()) break;
      // Out of file descriptors and similar: log, pause briefly, keep serving.
      log::Warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(acceptor_->get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (open_connections_.load() >= config_.max_connections) {
      metrics_->rejected.With({"max_connections"}).Inc();
      asio::co_spawn(socket.get_executor(), RefuseConnection(std::move(socket)), asio::detached);
      continue;
    }
    open_connections_.fetch_add(1);
    asio::post(worker.ioc(), [&worker, s = std::move(socket)]() mutable { worker.Start(std::move(s)); });
  }
}

void Server::Run() {
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers_.size(); ++i) {
    threads.emplace_back([this, i] { workers_[i]->ioc().run(); });
  }
  workers_[0]->ioc().run();
  for (auto& t : threads) t.join();
}

void Server::AddDrainHook(std::function<void()> begin, std::function<bool()> busy) {
  drain_hooks_.emplace_back(std::move(begin), std::move(busy));
}

void Server::Shutdown() {
  if (stopping_.exchange(true)) return;
  log::Info("shutting down", {{"open_connections", open_connections_.load()},
                              {"grace_ms", config_.shutdown_grace_ms}});
  asio::post(workers_[0]->ioc(), [this] {
    boost::system::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
  });
  for (auto& w : workers_) asio::post(w->ioc(), [worker = w.get()] { worker->Drain(); });
  for (auto& [begin, busy] : drain_hooks_) begin();
  // Wait for in-flight requests up to the grace period, then close the rest.
  asio::co_spawn(
      workers_[0]->ioc(),
      [this]() -> asio::awaitable<void> {
        const auto deadline = std::chrono::steady_clock::now() +
                              std::chrono::milliseconds(config_.shutdown_grace_ms);
        asio::steady_timer timer(workers_[0]->ioc());
        auto background_busy = [this] {
          for (auto& [begin, busy] : drain_hooks_) {
            if (busy()) return true;
          }
          return false;
        };
        while ((open_connections_.load() > 0 || background_busy()) &&
               std::chrono::steady_clock::now() < deadline) {
          timer.expires_after(std::chrono::milliseconds(10));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        FinishShutdown();
      },
      asio::detached);
}

void Server::FinishShutdown() {
  if (open_connections_.load() > 0) {
    log::Warn("closing connections still open after the grace period",
              {{"open_connections", open_connections_.load()}});
  }
  for (auto& w : workers_) {
    asio::post(w->ioc(), [worker = w.get()] {
      worker->CloseAll();
      worker->ReleaseWorkGuard();
    });
  }
  // Handlers still waiting on timers or upstream calls would keep the event
  // loops running past the grace period; give closed connections a moment to
  // unwind, then stop the loops. Abandoned coroutines are destroyed with them.
  auto timer = std::make_shared<asio::steady_timer>(workers_[0]->ioc(), kUnwindAfterClose);
  timer->async_wait([this, timer](boost::system::error_code) {
    for (auto& w : workers_) w->ioc().stop();
  });
}

}  // namespace basalt::net
