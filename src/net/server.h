// HTTP/1.1 server on Boost.Beast with C++20 coroutines; a connection that opens
// with the HTTP/2 preface is served as HTTP/2 cleartext (h2_session.h) on the
// same port, through the same routing, authentication and limits.
//
// Threading: one io_context per io thread; the acceptor hands each new
// connection to the next io_context in turn, and the connection lives on that
// thread for its whole life, so connection state needs no locks. Handlers run
// on the io thread of their connection and must never block: blocking work goes
// to the BlockingPool.
//
// Limits (all from ServerConfig): header size (431), body size (413), time to
// read a request once started (slow clients are dropped), keep-alive idle time,
// write time, and a maximum number of open connections (503 beyond it).
//
// Shutdown(): stops accepting, closes idle keep-alive connections, lets
// in-flight requests finish (answering with `Connection: close`), and after
// shutdown_grace_ms closes whatever is left. Run() returns once all is closed.
// Shutdown() is thread-safe; everything else is called from one thread at
// start-up.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"
#include "core/config.h"
#include "core/metrics.h"
#include "net/authenticator.h"
#include "net/router.h"

namespace basalt::net {

class Worker;
struct ServerMetrics;

class Server {
 public:
  Server(const ServerConfig& config, const Router& router, metrics::Registry& registry,
         const Authenticator* authenticator = nullptr);
  ~Server();

  // Binds and listens. Errors name the address (kUnavailable: in use, denied).
  absl::Status Listen();
  // The bound port (after Listen), useful when configured with port 0.
  uint16_t port() const { return port_; }

  // The io_context of io thread i, to build per-thread clients before Run().
  boost::asio::io_context& io_context(size_t i);
  size_t io_threads() const;

  // Runs the io threads; returns after Shutdown() has completed.
  void Run();
  // Starts a graceful shutdown. Thread-safe; later calls are no-ops.
  void Shutdown();

  // Background work (queue workers) that must drain on shutdown: `begin` runs
  // when shutdown starts (on the signal thread; it must not block), and the
  // event loops keep running, up to the grace period, while `busy` is true.
  // Call before Run().
  void AddDrainHook(std::function<void()> begin, std::function<bool()> busy);

  // Readiness: false once shutdown has started.
  bool accepting() const { return !stopping_.load(); }

 private:
  boost::asio::awaitable<void> AcceptLoop();
  void FinishShutdown();

  const ServerConfig config_;
  const Router& router_;
  metrics::Registry& registry_;
  const Authenticator* authenticator_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::vector<std::pair<std::function<void()>, std::function<bool()>>> drain_hooks_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> open_connections_{0};
  size_t next_worker_ = 0;  // used only by the accept loop
};

}  // namespace basalt::net
