#include "net/http_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_client_test_server.h"

namespace basalt::net {
namespace {

namespace asio = boost::asio;
using client_testing::Respond;
using client_testing::ServerRequest;
using client_testing::TestServer;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A request answered with "<method> <target> <body>" and the x-echo header.
asio::awaitable<bool> Echo(const ServerRequest& req, boost::beast::tcp_stream& stream, int) {
  co_await Respond(
      stream, 200,
      std::string(req.method_string()) + " " + std::string(req.target()) + " " + req.body(),
      "X-Echo: " + std::string(req["x-test"]) + "\r\nContent-Type: text/plain\r\n");
  co_return true;
}

using HttpClientTest = client_testing::ClientFixture;

TEST_F(HttpClientTest, GetAndPostRoundTrip) {
  TestServer server(Echo);
  auto client = MakeClient();

  absl::StatusOr<ClientResponse> get = Get(*client, server.Url("/v1/models?limit=2"));
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET /v1/models?limit=2 ");
  EXPECT_EQ(get->Header("content-type"), "text/plain");
  EXPECT_EQ(get->Header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(get->Header("missing"), "");

  ClientRequest post;
  post.method = "POST";
  post.url = server.Url("/v1/chat");
  post.headers = {{"X-Test", "abc"}, {"Content-Type", "application/json"}};
  post.body = R"({"a":1})";
  absl::StatusOr<ClientResponse> posted = Run(client->Send(std::move(post)));
  ASSERT_TRUE(posted.ok()) << posted.status();
  EXPECT_EQ(posted->body, R"(POST /v1/chat {"a":1})");
  EXPECT_EQ(posted->Header("x-echo"), "abc");
}

TEST_F(HttpClientTest, NonSuccessStatusIsAResponseNotAnError) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await Respond(s, 503, "busy");
        co_return true;
      });
  auto client = MakeClient();
  absl::StatusOr<ClientResponse> r = Get(*client, server.Url());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "busy");
}

TEST_F(HttpClientTest, KeepAliveReusesOneConnection) {
  TestServer server(Echo);
  auto client = MakeClient();
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<ClientResponse> r = Get(*client, server.Url("/" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.status();
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(client->IdleConnectionsForTest(), 1u);
}

TEST_F(HttpClientTest, ConnectionCloseIsNotReused) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await Respond(s, 200, "bye", "Connection: close\r\n");
        co_return false;
      });
  auto client = MakeClient();
  ASSERT_TRUE(Get(*client, server.Url()).ok());
  ASSERT_TRUE(Get(*client, server.Url()).ok());
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(client->IdleConnectionsForTest(), 0u);
}

TEST_F(HttpClientTest, CallerConnectionCloseIsNotReused) {
  TestServer server(Echo);
  auto client = MakeClient();
  for (int i = 0; i < 2; ++i) {
    ClientRequest request;
    request.url = server.Url();
    request.headers = {{"Connection", "close"}};
    ASSERT_TRUE(Run(client->Send(std::move(request))).ok());
  }
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(HttpClientTest, InterimResponsesAreSkipped) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await client_testing::WriteRaw(s,
                                          "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
                                          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
        co_return true;
      });
  auto client = MakeClient();
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<ClientResponse> r = Get(*client, server.Url());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "final");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, HeadResponseHasNoBodyAndKeepsConnection) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await client_testing::WriteRaw(s, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
        co_return true;
      });
  auto client = MakeClient();
  for (int i = 0; i < 2; ++i) {
    ClientRequest request;
    request.method = "HEAD";
    request.url = server.Url();
    absl::StatusOr<ClientResponse> r = Run(client->Send(std::move(request)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "");
    EXPECT_EQ(r->Header("content-length"), "1234");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, ResolvesHostNames) {
  TestServer server(Echo);
  auto client = MakeClient();
  absl::StatusOr<ClientResponse> r =
      Get(*client, "http://localhost:" + std::to_string(server.port()) + "/x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "GET /x ");
}

TEST_F(HttpClientTest, PoolLimitQueuesExtraRequests) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await client_testing::Sleep(milliseconds(60));
        co_await Respond(s, 200, "slow");
        co_return true;
      });
  HttpClientConfig config;
  config.max_connections_per_host = 2;
  auto client = MakeClient(config);
  int ok = 0;
  for (int i = 0; i < 3; ++i) {
    ClientRequest request;
    request.url = server.Url();
    asio::co_spawn(io_, client->Send(std::move(request)),
                   [&](std::exception_ptr, absl::StatusOr<ClientResponse> r) { ok += r.ok(); });
  }
  io_.run_for(std::chrono::seconds(10));
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.max_open(), 2);
  EXPECT_EQ(client->IdleConnectionsForTest(), 2u);
}

TEST_F(HttpClientTest, PoolWaitBoundedByDeadline) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await client_testing::Sleep(milliseconds(400));
        co_await Respond(s, 200, "slow");
        co_return true;
      });
  HttpClientConfig config;
  config.max_connections_per_host = 1;
  auto client = MakeClient(config);
  std::optional<absl::StatusOr<ClientResponse>> first, second;
  ClientRequest a;
  a.url = server.Url();
  ClientRequest b = a;
  b.deadline = Clock::now() + milliseconds(100);
  const auto start = Clock::now();
  Clock::duration second_took{};
  asio::co_spawn(io_, client->Send(std::move(a)),
                 [&](std::exception_ptr, absl::StatusOr<ClientResponse> r) { first = r; });
  asio::co_spawn(io_, client->Send(std::move(b)),
                 [&](std::exception_ptr, absl::StatusOr<ClientResponse> r) {
                   second_took = Clock::now() - start;
                   second = r;
                 });
  io_.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->ok()) << first->status();
  EXPECT_EQ(second->status().code(), absl::StatusCode::kDeadlineExceeded) << second->status();
  EXPECT_LT(second_took, milliseconds(350));
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, IdleConnectionsExpire) {
  TestServer server(Echo);
  HttpClientConfig config;
  config.idle_timeout_ms = 30;
  auto client = MakeClient(config);
  ASSERT_TRUE(Get(*client, server.Url()).ok());
  std::this_thread::sleep_for(milliseconds(60));
  ASSERT_TRUE(Get(*client, server.Url()).ok());
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(HttpClientTest, StaleReusedConnectionIsRetriedOnce) {
  // The server drops every connection at its second request without answering, as
  // a server closing an idle keep-alive connection at the wrong moment would.
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int index) -> asio::awaitable<bool> {
        if (index > 0) co_return false;
        co_await Respond(s, 200, "fresh");
        co_return true;
      });
  auto client = MakeClient();
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<ClientResponse> r = Get(*client, server.Url());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "fresh");
  }
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests(), 3);
}

TEST_F(HttpClientTest, BadUrlAndHeadersAreInvalidArgument) {
  auto client = MakeClient();
  for (const char* url :
       {"", "not a url", "ftp://example.com/", "http://", "http:///path", "http://host:99999/",
        "http://host:0/", "http://host:65536/", "http://user:pw@example.com/", "http://[::1/"}) {
    absl::StatusOr<ClientResponse> r = Get(*client, url);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("url")) << url;
  }
  ClientRequest request;
  request.url = "http://127.0.0.1:1/";
  request.headers = {{"X-Bad", "a\r\nInjected: yes"}};
  EXPECT_EQ(Run(client->Send(request)).status().code(), absl::StatusCode::kInvalidArgument);
  request.headers = {{"Bad Name", "x"}};
  EXPECT_EQ(Run(client->Send(request)).status().code(), absl::StatusCode::kInvalidArgument);
  request.headers = {};
  request.method = "GE T";
  EXPECT_EQ(Run(client->Send(request)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HttpClientTest, InvalidConfigRejected) {
  HttpClientConfig config;
  config.max_connections_per_host = 0;
  EXPECT_EQ(HttpClient::Create(io_.get_executor(), config).status().code(),
            absl::StatusCode::kInvalidArgument);
  config = {};
  config.ca_file = "/nonexistent/ca.pem";
  absl::StatusOr<std::unique_ptr<HttpClient>> client =
      HttpClient::Create(io_.get_executor(), config);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("ca_file"));
}

TEST_F(HttpClientTest, ConnectRefusedIsUnavailable) {
  uint16_t port;
  {
    asio::ip::tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  auto client = MakeClient();
  absl::StatusOr<ClientResponse> r = Get(*client, "http://127.0.0.1:" + std::to_string(port) + "/");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST_F(HttpClientTest, ResponseBodyOverLimitIsResourceExhausted) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await client_testing::WriteRaw(
            s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kMaxResponseBodyBytes + 1) +
                   "\r\n\r\nxx");
        co_return false;
      });
  auto client = MakeClient();
  EXPECT_EQ(Get(*client, server.Url()).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(HttpClientTest, ResetMidBodyIsUnavailable) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await client_testing::WriteRaw(
            s, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial");
        co_await client_testing::Sleep(milliseconds(20));
        client_testing::Reset(s);
        co_return false;
      });
  auto client = MakeClient();
  absl::StatusOr<ClientResponse> r = Get(*client, server.Url());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();

  ClientRequest request;
  request.url = server.Url();
  auto result = Run([&]() -> asio::awaitable<std::pair<std::string, absl::Status>> {
    absl::StatusOr<std::unique_ptr<ClientStream>> stream = co_await client->Open(request);
    if (!stream.ok()) co_return std::pair{std::string(), stream.status()};
    std::string body;
    while (true) {
      absl::StatusOr<std::string> chunk = co_await (*stream)->Next();
      if (!chunk.ok()) co_return std::pair{body, chunk.status()};
      if (chunk->empty()) co_return std::pair{body, absl::OkStatus()};
      body += *chunk;
    }
  }());
  EXPECT_EQ(result.first, "partial");
  EXPECT_EQ(result.second.code(), absl::StatusCode::kUnavailable) << result.second;
}

TEST_F(HttpClientTest, SlowServerHitsRequestDeadline) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await client_testing::Sleep(milliseconds(3000));
        co_await Respond(s, 200, "late");
        co_return true;
      });
  auto client = MakeClient();
  ClientRequest request;
  request.url = server.Url();
  request.deadline = Clock::now() + milliseconds(150);
  const auto start = Clock::now();
  absl::StatusOr<ClientResponse> r = Run(client->Send(request));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  EXPECT_GE(Clock::now() - start, milliseconds(140));
}

TEST_F(HttpClientTest, SlowServerHitsConfiguredTotalTimeout) {
  TestServer server(
      [](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
        co_await client_testing::Sleep(milliseconds(3000));
        co_return false;
      });
  HttpClientConfig config;
  config.total_timeout_ms = 100;
  auto client = MakeClient(config);
  const auto start = Clock::now();
  EXPECT_EQ(Get(*client, server.Url()).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
}

}  // namespace
}  // namespace basalt::net
