// Internals of HttpClient: the parsed request target, one upstream connection
// (plain TCP or TLS over TCP) and how it is established, and the mapping from
// Boost error codes to Status. Not for use outside src/net/http_*.
//
// Thread-safety: none; everything here runs on the client's one executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt::net::client_internal {

using Clock = std::chrono::steady_clock;

// Completion token: results as (error_code, ...) tuples, so ordinary failures do
// not throw. (A cancelled coroutine still throws at its next co_await.)
inline constexpr auto kAsTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

// `now + ms`, saturating at time_point::max().
Clock::time_point AddMillis(Clock::time_point now, int64_t ms);

// Where a request goes, parsed from its URL.
struct Target {
  bool tls = false;
  std::string host;  // lower-case name or IP literal, no brackets
  uint16_t port = 0;
  std::string host_header;     // value of the Host header
  std::string request_target;  // origin-form: path and query, at least "/"

  // "https://host:port": the connection pool key.
  std::string Origin() const;
  // "host:port", for messages.
  std::string Authority() const;
};

// kInvalidArgument (naming `url`) unless `url` is an absolute http(s) URL with a
// host and a valid port and without credentials.
absl::StatusOr<Target> ParseTarget(std::string_view url);

class Connection {
 public:
  using PlainStream = boost::beast::tcp_stream;
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  // A plain connection.
  explicit Connection(boost::asio::any_io_executor executor);
  // A TLS connection; `context` is only used during construction.
  Connection(boost::asio::any_io_executor executor, boost::asio::ssl::context& context);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool is_tls() const { return std::holds_alternative<TlsStream>(stream_); }
  boost::beast::tcp_stream& tcp();
  TlsStream* tls() { return std::get_if<TlsStream>(&stream_); }
  // Bytes read past the previous response stay here for the next one.
  boost::beast::flat_buffer& buffer() { return buffer_; }

  // Calls `f` with the stream to read and write (PlainStream& or TlsStream&).
  template <typename F>
  decltype(auto) Visit(F&& f) {
    return std::visit(std::forward<F>(f), stream_);
  }

  // Whether the connection has been used for a previous exchange.
  bool reused() const { return reused_; }
  void set_reused() { reused_ = true; }
  Clock::time_point idle_since() const { return idle_since_; }
  void set_idle_since(Clock::time_point t) { idle_since_ = t; }

  // A cheap non-blocking check before reuse: false if the peer has closed the
  // connection, it errored, or (plain HTTP) it sent bytes nobody asked for.
  bool LooksAlive();
  // Closes the socket at once (no TLS close_notify); pending operations fail.
  void Close();

 private:
  std::variant<PlainStream, TlsStream> stream_;
  boost::beast::flat_buffer buffer_;
  bool reused_ = false;
  Clock::time_point idle_since_{};
};

// Resolves, connects and (for https) performs the TLS handshake with SNI and, when
// `verify` is set, host name verification; all of it bounded by `deadline`.
// `tls_context` must be non-null for https targets.
boost::asio::awaitable<absl::StatusOr<std::unique_ptr<Connection>>> Connect(
    const Target& target, boost::asio::ssl::context* tls_context, bool verify,
    Clock::time_point deadline);

// The Status for a failed operation: `what` is the phase ("connect", "TLS
// handshake", "read response", ...). `conn` (optional) supplies TLS details.
absl::Status ErrorStatus(const boost::system::error_code& ec, std::string_view what,
                         const Target& target, Connection* conn = nullptr);

}  // namespace basalt::net::client_internal
