// Test support for http_client tests: a loopback HTTP/1.1 server (plain or TLS) on
// 127.0.0.1, port 0, running its own io_context on its own thread, whose replies
// each test scripts with a coroutine; and a self-signed certificate generator.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "gtest/gtest.h"
#include "net/http_client.h"

namespace basalt::net::client_testing {

using ServerRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Answers one request on `stream` by writing whatever it likes; `index` counts the
// requests on this connection from 0. Returns whether to read another request on
// the same connection.
using Handler = std::function<boost::asio::awaitable<bool>(
    const ServerRequest& request, boost::beast::tcp_stream& stream, int index)>;

class TestServer {
 public:
  // Plain HTTP: each request goes to `handler`.
  explicit TestServer(Handler handler);
  // HTTPS with the given PEM certificate and key: every request gets 200 "secure".
  TestServer(const std::string& cert_pem, const std::string& key_pem);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>" (https for a TLS server).
  std::string Url(std::string_view path = "/") const;

  int accepted() const { return accepted_.load(); }            // connections accepted
  int max_open() const { return max_open_.load(); }            // most open at once
  int requests() const { return requests_.load(); }            // requests read
  int client_closed() const { return client_closed_.load(); }  // client closed first
  // Handlers report a connection the client closed while they were busy.
  void NoteClientClosed() { ++client_closed_; }

  // Waits (polling, up to `timeout`) until `counter()` reaches `value`.
  static bool WaitFor(const std::function<int()>& counter, int value,
                      std::chrono::milliseconds timeout = std::chrono::seconds(2));

 private:
  void Start();
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> ServePlain(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> ServeTls(boost::asio::ip::tcp::socket socket);

  Handler handler_;
  std::optional<boost::asio::ssl::context> tls_;
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> client_closed_{0};
  uint16_t port_ = 0;
  // Declared last: destroyed first, taking pending coroutines with it.
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
};

// Handler helpers (on the server's io thread).
boost::asio::awaitable<void> Sleep(std::chrono::milliseconds duration);
// Writes a complete response with Content-Length; `extra` is raw header lines
// ("Name: value\r\n" each).
boost::asio::awaitable<void> Respond(boost::beast::tcp_stream& stream, int status, std::string body,
                                     std::string extra = {});
// Writes raw bytes.
boost::asio::awaitable<void> WriteRaw(boost::beast::tcp_stream& stream, std::string bytes);
// Waits until the client closes the connection (or `limit` passes); true if it did.
boost::asio::awaitable<bool> AwaitClientClose(boost::beast::tcp_stream& stream,
                                              std::chrono::milliseconds limit);
// Closes with a TCP RST instead of a FIN.
void Reset(boost::beast::tcp_stream& stream);

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};
// A self-signed EC P-256 certificate (also marked CA, so it can be its own trust
// anchor) with the given subjectAltName, e.g. "IP:127.0.0.1,DNS:localhost".
TestCert MakeSelfSignedCert(const std::string& common_name, const std::string& subject_alt_name);

// Writes `contents` to a fresh file under the test temp dir; returns its path.
std::string WriteTempFile(std::string_view name, const std::string& contents);

// A fixture owning the client's io_context, which tests run on their own thread.
class ClientFixture : public ::testing::Test {
 protected:
  std::unique_ptr<HttpClient> MakeClient(const HttpClientConfig& config = {});

  // Runs `task` on the io_context until it finishes (at most 10 s).
  template <typename T>
  T Run(boost::asio::awaitable<T> task) {
    std::optional<T> result;
    boost::asio::co_spawn(io_, std::move(task), [&](std::exception_ptr e, T value) {
      EXPECT_FALSE(e) << "the client must not throw";
      result.emplace(std::move(value));
    });
    io_.restart();
    io_.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(result.has_value()) << "task did not finish";
    return result.has_value() ? std::move(*result) : T{};
  }

  absl::StatusOr<ClientResponse> Get(HttpClient& client, std::string url);

  boost::asio::io_context io_;
};

}  // namespace basalt::net::client_testing
