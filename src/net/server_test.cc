// In-process tests of the server: a real listener on 127.0.0.1 port 0, talked
// to with raw sockets so malformed and partial requests can be sent.
#include "net/server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "net/stream_writer.h"

namespace basalt::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using ::testing::HasSubstr;

class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerConfig config = {}) {
    config.host = "127.0.0.1";
    config.port = 0;
    config.io_threads = 2;
    config.access_log = false;
    config_ = config;
    router_.Add("GET", "/hello/{name}", [](HttpRequest& r) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
      co_return HttpResponse::Text(200, "hi " + std::string(r.Param("name")));
    });
    router_.Add("POST", "/fail", [](HttpRequest&) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
      co_return absl::ResourceExhaustedError("slow down");
    });
    router_.Add("POST", "/size", [](HttpRequest& r) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
      co_return HttpResponse::Text(200, "size=" + std::to_string(r.body().size()));
    });
    RouteOptions aws;
    aws.error_style = ErrorStyle::kAws;
    router_.Add("POST", "/aws", [](HttpRequest&) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
      co_return absl::InvalidArgumentError("modelId: unknown");
    }, aws);
    router_.Add("GET", "/sse", [](HttpRequest&) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
      HttpResponse r;
      r.content_type = "text/event-stream";
      r.stream = [](StreamWriter& w) -> asio::awaitable<absl::Status> {
        for (int i = 0; i < 3; ++i) {
          absl::Status s = co_await w.Event("tick", std::to_string(i));
          if (!s.ok()) co_return s;
        }
        co_return absl::OkStatus();
      };
      co_return r;
    });
    router_.Add("GET", "/slow", [](HttpRequest&) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
      co_await t.async_wait(asio::use_awaitable);
      co_return HttpResponse::Text(200, "done");
    });
    server_ = std::make_unique<Server>(config_, router_, registry_);
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown();
      thread_.join();
    }
  }

  // Sends raw bytes on a new connection and reads until the server closes or
  // `until` appears in what was read.
  std::string Exchange(const std::string& bytes, const std::string& until = "") {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    asio::write(s, asio::buffer(bytes));
    std::string out;
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      size_t n = s.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
  }

  ServerConfig config_;
  Router router_;
  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(ServerTest, RoutesWithParamsAndRequestId) {
  Start();
  auto out = Exchange("GET /hello/bob HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-1\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(out, HasSubstr("X-Request-Id: abc-1"));
  EXPECT_THAT(out, HasSubstr("hi bob"));
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  const std::string req = "GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n";
  auto out = Exchange(req + req + "GET /hello/z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n') > 10, true);
  EXPECT_THAT(out, HasSubstr("hi z"));
  size_t count = 0;
  for (size_t p = out.find("200 OK"); p != std::string::npos; p = out.find("200 OK", p + 1)) ++count;
  EXPECT_EQ(count, 3u);
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  Start();
  auto nf = Exchange("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(nf, HasSubstr("404 Not Found"));
  EXPECT_THAT(nf, HasSubstr("\"type\":\"not_found_error\""));
  auto na = Exchange("DELETE /hello/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(na, HasSubstr("405 Method Not Allowed"));
  EXPECT_THAT(na, HasSubstr("Allow: GET"));
}

TEST_F(ServerTest, ErrorStylesAndRetryAfter) {
  Start();
  auto rl = Exchange("POST /fail HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(rl, HasSubstr("429 Too Many Requests"));
  EXPECT_THAT(rl, HasSubstr("Retry-After: 1"));
  auto aws = Exchange("POST /aws HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(aws, HasSubstr("400 Bad Request"));
  EXPECT_THAT(aws, HasSubstr("x-amzn-ErrorType: ValidationException"));
  EXPECT_THAT(aws, HasSubstr("{\"message\":\"modelId: unknown\"}"));
}

TEST_F(ServerTest, LimitsAnswer413And431) {
  ServerConfig c;
  c.max_body_bytes = 100;
  c.max_header_bytes = 1024;
  Start(c);
  auto big = Exchange("POST /fail HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'a'));
  EXPECT_THAT(big, HasSubstr("413 Payload Too Large"));
  auto headers = Exchange("GET /hello/x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b') + "\r\n\r\n");
  EXPECT_THAT(headers, HasSubstr("431 Request Header Fields Too Large"));
}

TEST_F(ServerTest, MalformedRequestGets400) {
  Start();
  auto out = Exchange("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("400 Bad Request"));
  EXPECT_THAT(out, HasSubstr("malformed HTTP request"));
}

TEST_F(ServerTest, SlowClientIsDropped) {
  ServerConfig c;
  c.read_timeout_ms = 200;
  Start(c);
  const auto t0 = std::chrono::steady_clock::now();
  auto out = Exchange("GET /hello/x HTTP/1.1\r\nHost: x\r\n");  // never finishes its headers
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(out, "");  // closed without an answer
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST_F(ServerTest, StreamsServerSentEventsChunked) {
  Start();
  auto out = Exchange("GET /sse HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("Transfer-Encoding: chunked"));
  EXPECT_THAT(out, HasSubstr("text/event-stream"));
  EXPECT_THAT(out, HasSubstr("event: tick\ndata: 2\n\n"));
  EXPECT_THAT(out, HasSubstr("\r\n0\r\n\r\n"));
}

TEST_F(ServerTest, ShutdownLetsInFlightRequestFinish) {
  Start();
  std::string out;
  std::thread client([&] { out = Exchange("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server_->Shutdown();
  client.join();
  EXPECT_THAT(out, HasSubstr("200 OK"));
  EXPECT_THAT(out, HasSubstr("Connection: close"));
  EXPECT_THAT(out, HasSubstr("done"));
}

TEST_F(ServerTest, AnswersExpectContinueBeforeTheBody) {
  Start();
  auto out = Exchange("POST /size HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
                      "Connection: close\r\n\r\nhello");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"));
  EXPECT_THAT(out, HasSubstr("size=5"));
}

TEST_F(ServerTest, MetricsCountRequests) {
  Start();
  Exchange("GET /hello/m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(registry_.Render(),
              HasSubstr("basalt_http_requests_total{method=\"GET\",route=\"/hello/{name}\",status=\"200\"} 1"));
}

}  // namespace
}  // namespace basalt::net
