// HTTP/2 (h2c with prior knowledge) end to end: a real Server on 127.0.0.1
// port 0, talked to by nghttp2's client session over a loopback socket.
#include "net/h2_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "net/h2_test_client.h"
#include "net/server.h"
#include "net/stream_writer.h"

namespace basalt::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using h2test::H2Client;
using h2test::Reply;
using ::testing::HasSubstr;

// Lets a request in only with "authorization: ok", and checks that HTTP/2's
// :authority arrived as Host (SigV4 verifiers sign it).
class FakeAuthenticator : public Authenticator {
 public:
  asio::awaitable<absl::Status> Authenticate(HttpRequest& request, AuthScheme) const override {
    co_return Check(request);
  }
  absl::Status Authorize(const HttpRequest&, Permission) const override {
    return absl::OkStatus();
  }

 private:
  static absl::Status Check(HttpRequest& request) {
    if (request.Header("authorization") != "ok") return absl::UnauthenticatedError("no key");
    if (request.Header("host") != "example.test:8080" ||
        request.Header(":authority") != "example.test:8080") {
      return absl::PermissionDeniedError("no host");
    }
    request.ctx.tenant = "t1";
    return absl::OkStatus();
  }
};

using Result = asio::awaitable<absl::StatusOr<HttpResponse>>;

class H2SessionTest : public ::testing::Test {
 protected:
  void Start(ServerConfig config = {}) {
    config.host = "127.0.0.1";
    config.port = 0;
    config.io_threads = 1;
    config.access_log = false;
    config_ = config;
    RouteOptions open;
    open.public_route = true;
    router_.Add(
        "GET", "/hello/{name}",
        [](HttpRequest& r) -> Result {
          co_return HttpResponse::Text(200, "hi " + std::string(r.Param("name")));
        },
        open);
    router_.Add(
        "POST", "/size",
        [](HttpRequest& r) -> Result {
          co_return HttpResponse::Text(200, "size=" + std::to_string(r.body().size()));
        },
        open);
    RouteOptions aws = open;
    aws.error_style = ErrorStyle::kAws;
    router_.Add(
        "POST", "/aws",
        [](HttpRequest&) -> Result { co_return absl::InvalidArgumentError("modelId: unknown"); },
        aws);
    router_.Add("GET", "/private", [](HttpRequest& r) -> Result {
      co_return HttpResponse::Text(200, "tenant " + r.ctx.tenant);
    });
    router_.Add(
        "GET", "/sse",
        [](HttpRequest&) -> Result {
          HttpResponse r;
          r.content_type = "text/event-stream";
          r.stream = [](StreamWriter& w) -> asio::awaitable<absl::Status> {
            for (int i = 0; i < 3; ++i) {
              absl::Status s = co_await w.Event("tick", std::to_string(i));
              if (!s.ok()) co_return s;
              asio::steady_timer t(co_await asio::this_coro::executor,
                                   std::chrono::milliseconds(20));
              co_await t.async_wait(asio::use_awaitable);
            }
            co_return absl::OkStatus();
          };
          co_return r;
        },
        open);
    router_.Add(
        "GET", "/forever",
        [this](HttpRequest&) -> Result {
          HttpResponse r;
          r.content_type = "text/event-stream";
          r.stream = [this](StreamWriter& w) -> asio::awaitable<absl::Status> {
            struct Stopped {  // set however the producer ends: error, or cancelled
              std::atomic<bool>& flag;
              ~Stopped() { flag = true; }
            } stopped{producer_stopped_};
            for (;;) {
              absl::Status s = co_await w.Comment("tick");
              if (!s.ok()) co_return s;
              asio::steady_timer t(co_await asio::this_coro::executor,
                                   std::chrono::milliseconds(5));
              co_await t.async_wait(asio::use_awaitable);
            }
          };
          co_return r;
        },
        open);
    const Handler slow = [](HttpRequest&) -> Result {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
      co_await t.async_wait(asio::use_awaitable);
      co_return HttpResponse::Text(200, "done");
    };
    router_.Add("GET", "/slow", slow, open);
    router_.Add("POST", "/slow", slow, open);
    server_ = std::make_unique<Server>(config_, router_, registry_, &auth_);
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown();
      thread_.join();
    }
  }

  std::atomic<bool> producer_stopped_{false};
  ServerConfig config_;
  Router router_;
  FakeAuthenticator auth_;
  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST(H2PrefaceTest, MatchesWholeAndPartialPrefaces) {
  EXPECT_EQ(MatchH2Preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00"), PrefaceMatch::kYes);
  EXPECT_EQ(MatchH2Preface("PRI * HTTP/2"), PrefaceMatch::kPartial);
  EXPECT_EQ(MatchH2Preface(""), PrefaceMatch::kPartial);
  EXPECT_EQ(MatchH2Preface("POST / HTTP/1.1\r\n"), PrefaceMatch::kNo);
  EXPECT_EQ(MatchH2Preface("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n"), PrefaceMatch::kNo);
}

TEST_F(H2SessionTest, GetRoundTripWithCommonHeaders) {
  Start();
  H2Client client(server_->port());
  const int32_t id = client.Submit("GET", "/hello/bob", "", {{"x-request-id", "abc-1"}});
  ASSERT_TRUE(client.Run());
  const Reply& r = client.reply(id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi bob");
  EXPECT_EQ(r.headers.at("x-request-id"), "abc-1");
  EXPECT_EQ(r.headers.at("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.headers.at("content-length"), "6");
  EXPECT_EQ(r.headers.at("server"), "basalt");
  EXPECT_EQ(r.error_code, NGHTTP2_NO_ERROR);
  // The server records a request once nghttp2 has sent its last frame, which
  // may be a moment after the client has read it.
  const std::string counted =
      "basalt_http_requests_total{method=\"GET\",route=\"/hello/{name}\",status=\"200\"} 1";
  for (int i = 0; i < 100 && registry_.Render().find(counted) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(registry_.Render(), HasSubstr(counted));
}

TEST_F(H2SessionTest, PostBodySpanningManyFrames) {
  Start();
  H2Client client(server_->port());
  const int32_t small = client.Submit("POST", "/size", "hello");
  const int32_t large = client.Submit("POST", "/size", std::string(3 << 20, 'x'));  // > windows
  ASSERT_TRUE(client.Run());
  EXPECT_EQ(client.reply(small).body, "size=5");
  EXPECT_EQ(client.reply(large).status, 200);
  EXPECT_EQ(client.reply(large).body, "size=" + std::to_string(3 << 20));
}

TEST_F(H2SessionTest, StreamsAreServedConcurrently) {
  Start();
  H2Client client(server_->port());
  const auto t0 = std::chrono::steady_clock::now();
  const int32_t slow1 = client.Submit("GET", "/slow");
  const int32_t slow2 = client.Submit("GET", "/slow");
  const int32_t fast = client.Submit("GET", "/hello/x");
  ASSERT_TRUE(client.Run());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(550));
  EXPECT_EQ(client.reply(slow1).body, "done");
  EXPECT_EQ(client.reply(slow2).body, "done");
  ASSERT_FALSE(client.close_order().empty());
  EXPECT_EQ(client.close_order().front(), fast);
}

TEST_F(H2SessionTest, StreamingResponseArrivesInSeveralDataFrames) {
  Start();
  H2Client client(server_->port());
  const int32_t id = client.Submit("GET", "/sse");
  ASSERT_TRUE(client.Run());
  const Reply& r = client.reply(id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "text/event-stream");
  EXPECT_EQ(r.headers.at("cache-control"), "no-cache");
  EXPECT_EQ(r.headers.count("content-length"), 0u);
  EXPECT_EQ(r.body, "event: tick\ndata: 0\n\nevent: tick\ndata: 1\n\nevent: tick\ndata: 2\n\n");
  EXPECT_GE(r.data_chunks, 3);
  EXPECT_EQ(r.error_code, NGHTTP2_NO_ERROR);
}

TEST_F(H2SessionTest, ErrorShapesMatchHttp1) {
  Start();
  H2Client client(server_->port());
  const int32_t nf = client.Submit("GET", "/nope");
  const int32_t na = client.Submit("DELETE", "/hello/x");
  const int32_t aws = client.Submit("POST", "/aws", "{}");
  ASSERT_TRUE(client.Run());
  EXPECT_EQ(client.reply(nf).status, 404);
  EXPECT_THAT(client.reply(nf).body, HasSubstr("\"type\":\"not_found_error\""));
  EXPECT_EQ(client.reply(na).status, 405);
  EXPECT_EQ(client.reply(na).headers.at("allow"), "GET");
  EXPECT_EQ(client.reply(aws).status, 400);
  EXPECT_EQ(client.reply(aws).headers.at("x-amzn-errortype"), "ValidationException");
  EXPECT_EQ(client.reply(aws).body, "{\"message\":\"modelId: unknown\"}");
}

TEST_F(H2SessionTest, AuthenticatesWithAuthorityAsHost) {
  Start();
  H2Client client(server_->port());
  const int32_t denied = client.Submit("GET", "/private");
  const int32_t allowed = client.Submit("GET", "/private", "", {{"authorization", "ok"}});
  ASSERT_TRUE(client.Run());
  EXPECT_EQ(client.reply(denied).status, 401);
  EXPECT_EQ(client.reply(allowed).status, 200);
  EXPECT_EQ(client.reply(allowed).body, "tenant t1");
}

TEST_F(H2SessionTest, LimitsAnswer413And431PerStream) {
  ServerConfig c;
  c.max_body_bytes = 1000;
  c.max_header_bytes = 2048;
  Start(c);
  H2Client client(server_->port());
  const int32_t declared =
      client.Submit("POST", "/size", std::string(5000, 'a'), {{"content-length", "5000"}});
  const int32_t undeclared = client.Submit("POST", "/size", std::string(200000, 'a'));
  const int32_t headers = client.Submit("GET", "/hello/x", "", {{"x-big", std::string(4000, 'b')}});
  const int32_t fine = client.Submit("POST", "/size", std::string(1000, 'a'));
  ASSERT_TRUE(client.Run());
  EXPECT_EQ(client.reply(declared).status, 413);
  EXPECT_THAT(client.reply(declared).body, HasSubstr("server.max_body_bytes"));
  EXPECT_EQ(client.reply(undeclared).status, 413);
  EXPECT_EQ(client.reply(headers).status, 431);
  EXPECT_EQ(client.reply(fine).body, "size=1000");  // the connection survives
}

TEST_F(H2SessionTest, OpenStreamsShareABodyBudget) {
  ServerConfig c;
  c.max_body_bytes = 1000;  // the budget is 4 bodies
  Start(c);
  H2Client client(server_->port());
  std::vector<int32_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(client.Submit("POST", "/slow", std::string(1000, 'a')));
  ASSERT_TRUE(client.Run());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(client.reply(ids[i]).status, 200) << i;
  EXPECT_EQ(client.reply(ids[4]).status, 503);
  EXPECT_THAT(client.reply(ids[4]).body, HasSubstr("request bodies in progress"));
}

TEST_F(H2SessionTest, ResettingAStreamStopsItsProducerNotTheConnection) {
  Start();
  H2Client client(server_->port());
  const int32_t id = client.Submit("GET", "/forever");
  ASSERT_TRUE(client.RunUntilData(id));
  client.Reset(id);
  for (int i = 0; i < 200 && !producer_stopped_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(producer_stopped_);
  const int32_t next = client.Submit("GET", "/hello/again");
  ASSERT_TRUE(client.Run());
  EXPECT_EQ(client.reply(next).body, "hi again");
}

TEST_F(H2SessionTest, UnfinishedRequestIsDroppedAfterTheReadTimeout) {
  ServerConfig c;
  c.read_timeout_ms = 200;
  Start(c);
  H2Client client(server_->port());
  const int32_t id = client.OpenUnfinished("/size");
  const auto t0 = std::chrono::steady_clock::now();
  client.ReadUntilClosed(std::chrono::seconds(5));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(client.reply(id).status, 0);  // closed without an answer
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(4));
}

TEST_F(H2SessionTest, ShutdownSendsGoawayAndFinishesOpenStreams) {
  Start();
  H2Client client(server_->port());
  const int32_t id = client.Submit("GET", "/slow");
  ASSERT_TRUE(client.Run(std::chrono::milliseconds(100)) == false);  // still in flight
  server_->Shutdown();
  ASSERT_TRUE(client.Run());
  EXPECT_EQ(client.reply(id).body, "done");
  EXPECT_TRUE(client.ReadUntilClosed(std::chrono::seconds(3)));
}

TEST_F(H2SessionTest, IdleConnectionIsClosedWithGoaway) {
  ServerConfig c;
  c.idle_timeout_ms = 200;
  Start(c);
  H2Client client(server_->port());
  const int32_t id = client.Submit("GET", "/hello/x");
  ASSERT_TRUE(client.Run());
  EXPECT_EQ(client.reply(id).status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ReadUntilClosed(std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST_F(H2SessionTest, Http1StillServedOnTheSamePort) {
  Start();
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  asio::write(
      s,
      asio::buffer(std::string("GET /hello/h1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  while (!ec) out.append(buf, s.read_some(asio::buffer(buf), ec));
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(out, HasSubstr("hi h1"));
}

}  // namespace
}  // namespace basalt::net
