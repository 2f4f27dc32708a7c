// HttpClient: an async HTTP/1.1 client (Boost.Beast, C++20 coroutines) for calling
// upstream model providers and webhooks, with a keep-alive pool per origin.
//
// Threading: an HttpClient is bound to ONE executor, run by one thread (each io
// thread of the server owns its own client), so it takes no locks. Call it, and use
// the ClientStreams it returns, only from coroutines running on that executor.
// In-flight calls keep the client's state alive, so destroying the HttpClient while
// a call or a ClientStream is outstanding is safe.
//
// Errors (never exceptions):
//   kInvalidArgument   bad `url`, method or header
//   kDeadlineExceeded  connect_timeout_ms, total_timeout_ms, the request deadline,
//                      or waiting for a pooled connection, ran out
//   kUnavailable       resolve / connect refused / reset / EOF / malformed response /
//                      TLS failure (a failed certificate check says "certificate
//                      verification failed"); the caller may retry
//   kResourceExhausted the response head or (for Send) body exceeds its limit
//   kCancelled         the awaiting coroutine was cancelled by asio per-operation
//                      cancellation of type terminal (what `||` with a timer, or a
//                      cancellation_signal bound with bind_cancellation_slot and
//                      emitting terminal, delivers; coroutines pass only terminal by
//                      default); the in-flight operation stops and the connection is
//                      closed, never reused
// A non-2xx HTTP status is NOT an error: it is returned in the response. Redirects
// are not followed; interim 1xx responses are skipped.
//
// Connections: one keep-alive pool per origin (scheme, host, port) of at most
// max_connections_per_host; callers beyond it wait in FIFO order until their
// deadline. Idle connections are dropped after idle_timeout_ms. A request on a
// reused connection that fails before any response byte arrives (the server closed
// it while idle) is retried once on a new connection, whatever its method.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.h"

namespace basalt::net {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Largest body Send() buffers (64 MiB); larger bodies fail with kResourceExhausted.
// Use Open() to stream bodies of any size.
inline constexpr size_t kMaxResponseBodyBytes = size_t{64} << 20;
// Largest response status line + headers (64 KiB).
inline constexpr size_t kMaxResponseHeaderBytes = size_t{64} << 10;

struct ClientRequest {
  std::string method = "GET";
  // http:// or https://, default ports 80/443; the path and query are sent as-is and
  // the fragment is dropped. Credentials in the URL are rejected.
  std::string url;
  // Sent in order; `Host` and `User-Agent` replace the defaults. Content-Length is
  // set from `body`.
  HttpHeaders headers;
  std::string body;
  // The whole exchange (including, for Open, reading the body) must finish by
  // min(deadline, now + total_timeout_ms).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// First value of the header `name` (ASCII case-insensitive); empty when absent.
std::string_view FindHeader(const HttpHeaders& headers, std::string_view name);

struct ClientResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  std::string_view Header(std::string_view name) const { return FindHeader(headers, name); }
};

// A response whose body is read as it arrives. Destroying the stream before the end
// of the body closes the connection; reading to the end returns it to the pool
// (when the server allows keep-alive).
class ClientStream {
 public:
  struct State;  // defined in http_client.cc
  explicit ClientStream(std::unique_ptr<State> state);
  ~ClientStream();
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  int status() const;
  const HttpHeaders& headers() const;
  std::string_view Header(std::string_view name) const { return FindHeader(headers(), name); }

  // The next body bytes as they arrive (at most 16 KiB at a time), or an empty
  // string at the end of the body (and on every later call). Chunked and
  // Content-Length bodies are both decoded. After an error, every later call
  // returns the same error. One Next() at a time.
  boost::asio::awaitable<absl::StatusOr<std::string>> Next();

 private:
  std::unique_ptr<State> state_;
};

class HttpClient {
 public:
  // TLS: 1.2 or newer; with `verify_tls`, peer certificates are checked against
  // `ca_file` or the system bundle, and the URL's host against the certificate
  // (SNI is sent for names). The TLS context is built once per (verify_tls,
  // ca_file) and shared by all clients in the process. kInvalidArgument when
  // `ca_file` cannot be loaded or a limit is not positive.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(boost::asio::any_io_executor executor,
                                                            const HttpClientConfig& config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` and buffers the whole response (at most kMaxResponseBodyBytes).
  boost::asio::awaitable<absl::StatusOr<ClientResponse>> Send(ClientRequest request);

  // Sends `request` and returns once the response head has arrived; the body is read
  // with ClientStream::Next().
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ClientStream>>> Open(ClientRequest request);

  // Idle pooled connections across all origins (for tests and metrics).
  size_t IdleConnectionsForTest() const;

  struct State;  // defined in http_client.cc

 private:
  explicit HttpClient(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace basalt::net
