// Internal to the server: a Worker is one io thread's io_context plus the
// connections living on it; a Connection is one client's keep-alive session
// (HTTP/1.1, or HTTP/2 with prior knowledge handed to an H2Session).
// Everything here runs on the worker's own thread, so it needs no locks.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include "absl/container/flat_hash_map.h"
#include "core/config.h"
#include "core/metrics.h"
#include "net/router.h"

namespace basalt::net {

class Connection;
class H2Session;

// Metric handles shared by all workers (series lookups are cached per route).
struct ServerMetrics {
  explicit ServerMetrics(metrics::Registry& registry);
  metrics::CounterFamily& requests;
  metrics::HistogramFamily& duration;
  metrics::GaugeFamily& connections;
  metrics::GaugeFamily& in_flight;
  metrics::CounterFamily& rejected;
  metrics::CounterFamily& bytes_in;
  metrics::CounterFamily& bytes_out;
  // Label-less series, resolved once.
  metrics::GaugeSeries& open_connections;
  metrics::GaugeSeries& requests_in_flight;
  metrics::CounterSeries& request_bytes;
  metrics::CounterSeries& response_bytes;
};

class Worker {
 public:
  Worker(const ServerConfig& config, const Router& router, ServerMetrics& metrics,
         const Authenticator* authenticator, std::atomic<int64_t>& open_connections);

  // Adopts an accepted socket (called on this worker's thread).
  void Start(boost::asio::ip::tcp::socket socket);
  // Stops keep-alive: closes idle connections, lets busy ones finish (HTTP/2
  // ones are sent GOAWAY).
  void Drain();
  // Closes every connection still open.
  void CloseAll();
  void ReleaseWorkGuard() { guard_.reset(); }

  boost::asio::io_context& ioc() { return ioc_; }
  const ServerConfig& config() const { return config_; }
  const Router& router() const { return router_; }
  ServerMetrics& metrics() { return metrics_; }
  // Null in dev mode (loopback, no auth configured): every request is the dev tenant.
  const Authenticator* authenticator() const { return authenticator_; }
  bool draining() const { return draining_; }

  // The request counter and latency histogram for one (route, method, status),
  // cached so the hot path does no label lookups after the first request.
  struct Series {
    metrics::CounterSeries* requests;
    metrics::HistogramSeries* duration;
  };
  Series SeriesFor(std::string_view route, int verb, int status);

 private:
  friend class Connection;
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  const ServerConfig& config_;
  const Router& router_;
  ServerMetrics& metrics_;
  const Authenticator* authenticator_;
  std::atomic<int64_t>& open_connections_;
  std::unordered_set<Connection*> connections_;
  bool draining_ = false;
  // Keyed by (route text address, verb, status): route texts live in the Router.
  absl::flat_hash_map<std::tuple<const char*, int, int>, Series> series_;
};

// The request handling HTTP/1.1 (Connection) and HTTP/2 (H2Session) share, so
// routing, authentication, error shapes, metrics and the access log are one code.

// Awaited beside handlers that cancel on disconnect; completes once the client is gone.
using DisconnectWatch = std::function<boost::asio::awaitable<void>()>;

// Sets the request id (a valid incoming X-Request-Id, else a new one), trace id,
// deadline, path and query (from raw.target()).
void PrepareRequest(const Worker& worker, HttpRequest& request,
                    std::chrono::steady_clock::time_point started, std::string_view remote);
// Authenticates and runs the matched route's handler; 400/404/405 when nothing matched.
// kCancelled when `watch` saw the client leave first.
boost::asio::awaitable<absl::StatusOr<HttpResponse>> DispatchRequest(
    Worker& worker, HttpRequest& request, const RouteMatch& match, const DisconnectWatch& watch);
// What to answer for a handler's result: its response, or its error in the
// route's style (with Allow on 405). Nullopt for kCancelled: nobody to answer.
std::optional<HttpResponse> ResponseFor(absl::StatusOr<HttpResponse>&& result,
                                        const RouteMatch& match, std::string_view request_id);
HttpResponse ErrorResponse(const absl::Status& status, ErrorStyle style,
                           std::string_view request_id);
// The route label for metrics: the pattern (bounded cardinality), never the raw path.
std::string_view RouteLabel(const RouteMatch& match);
// The Date header value, formatted once per second per thread.
std::string_view HttpDate();

// One answered request, for the metrics and the access log.
struct RequestRecord {
  int verb;  // boost::beast::http::verb
  std::string_view target;
  std::string_view route;
  int status;
  std::string_view request_id;
  std::chrono::steady_clock::time_point started;
  size_t bytes_in;
  size_t bytes_out;
  std::string_view remote;
};
void RecordRequest(Worker& worker, const RequestRecord& record);

class Connection {
 public:
  Connection(Worker& worker, boost::asio::ip::tcp::socket socket);
  ~Connection();
  boost::asio::awaitable<void> Run();
  bool idle() const { return state_ == State::kIdle; }
  void Close();
  // The worker is draining: an HTTP/2 session sends GOAWAY (HTTP/1.1 needs nothing).
  void Drain();

 private:
  enum class State { kIdle, kReading, kHandling, kHttp2 };
  using Clock = std::chrono::steady_clock;

  // Reads one request (answering `Expect: 100-continue`); the error and bytes read.
  boost::asio::awaitable<std::tuple<boost::system::error_code, size_t>> ReadRequest(
      boost::beast::http::request_parser<boost::beast::http::string_body>& parser);
  // Handles one request and writes its answer; returns whether to keep going.
  boost::asio::awaitable<bool> Handle(RawRequest& raw, Clock::time_point started);
  // Whether the connection starts with the HTTP/2 preface (reading more while
  // what arrived is a prefix of it); nullopt when the client left or was too slow.
  boost::asio::awaitable<std::optional<bool>> StartsWithH2Preface();
  boost::asio::awaitable<void> WatchDisconnect();
  // Writes an error for a request that could not be read, then closes.
  boost::asio::awaitable<void> RejectAndClose(absl::Status status, Clock::time_point started);
  boost::asio::awaitable<bool> WriteWhole(const RawRequest* raw, HttpResponse& response,
                                          bool keep_alive, std::string_view request_id);
  boost::asio::awaitable<bool> WriteStream(const RawRequest& raw, HttpResponse& response,
                                           bool keep_alive, std::string_view request_id);
  void Record(int verb, std::string_view target, std::string_view route, int status,
              std::string_view request_id, Clock::time_point started);

  Worker& worker_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  State state_ = State::kIdle;
  std::string remote_;
  size_t request_bytes_ = 0;
  size_t response_bytes_ = 0;
  DisconnectWatch watch_;          // WatchDisconnect, bound once
  std::shared_ptr<H2Session> h2_;  // set once the connection speaks HTTP/2
};

}  // namespace basalt::net
