// HTTP/2 (h2c with prior knowledge) end to end: a real Server on 127.0.0.1
// port 0, talked to by nghttp2's client session over a loopback socket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>

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

#include "net/h2_session.h"
#include "net/server.h"
#include "net/stream_writer.h"

namespace basalt::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  int data_chunks = 0;
  bool closed = false;
  uint32_t error_code = 0;
};

// A minimal blocking HTTP/2 client on nghttp2's client session.
class H2Client {
 public:
  explicit H2Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &OnFrame);
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Client() { nghttp2_session_del(session_); }

  int32_t Submit(const std::string& method, const std::string& path, const std::string& body = "",
                 std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> h = {
        {":method", method}, {":scheme", "http"}, {":authority", "example.test:8080"},
        {":path", path}};
    h.insert(h.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [k, v] : h) {
      nva.push_back({reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()),
                     k.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    auto& source = bodies_.emplace_back(std::make_unique<Body>(Body{body, 0}));
    nghttp2_data_provider provider{};
    provider.source.ptr = source.get();
    provider.read_callback = &ReadBody;
    const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                              body.empty() ? nullptr : &provider, nullptr);
    replies_[id];
    return id;
  }

  // Exchanges frames until every stream submitted so far has closed; false on timeout.
  bool Run(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (!Flush()) return false;
      bool all_closed = true;
      for (auto& [id, r] : replies_) all_closed = all_closed && r.closed;
      if (all_closed) return true;
      if (!ReadSome(50)) return false;
    }
    return false;
  }

  // Reads until the server closes the connection; whether a GOAWAY came first.
  bool ReadUntilClosed(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until && Flush() && ReadSome(50)) {
    }
    return goaway_;
  }

  Reply& reply(int32_t id) { return replies_[id]; }
  std::vector<int32_t>& close_order() { return close_order_; }

 private:
  struct Body {
    std::string data;
    size_t offset;
  };

  bool Flush() {
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) return n == 0;
      boost::system::error_code ec;
      asio::write(socket_, asio::buffer(data, static_cast<size_t>(n)), ec);
      if (ec) return false;
    }
  }
  bool ReadSome(int timeout_ms) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char buf[16384];
    boost::system::error_code ec;
    const size_t n = socket_.read_some(asio::buffer(buf), ec);
    if (ec) return false;
    return nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), n) >= 0;
  }
  static H2Client& Self(void* p) { return *static_cast<H2Client*>(p); }
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* b = static_cast<Body*>(source->ptr);
    const size_t n = std::min(length, b->data.size() - b->offset);
    std::memcpy(buf, b->data.data() + b->offset, n);
    b->offset += n;
    if (b->offset == b->data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* p) {
    Reply& r = Self(p).replies_[frame->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") r.status = std::stoi(v);
    r.headers[n] = v;
    return 0;
  }
  static int OnData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* p) {
    Reply& r = Self(p).replies_[id];
    r.body.append(reinterpret_cast<const char*>(data), len);
    ++r.data_chunks;
    return 0;
  }
  static int OnClose(nghttp2_session*, int32_t id, uint32_t error_code, void* p) {
    Reply& r = Self(p).replies_[id];
    r.closed = true;
    r.error_code = error_code;
    Self(p).close_order_.push_back(id);
    return 0;
  }
  static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    if (frame->hd.type == NGHTTP2_GOAWAY) Self(p).goaway_ = true;
    return 0;
  }

  asio::io_context ioc_;
  tcp::socket socket_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Reply> replies_;
  std::vector<std::unique_ptr<Body>> bodies_;
  std::vector<int32_t> close_order_;
  bool goaway_ = false;
};

// Lets a request in only with "authorization: ok", and checks that HTTP/2's
// :authority arrived as Host (SigV4 verifiers sign it).
class FakeAuthenticator : public Authenticator {
 public:
  absl::Status Authenticate(HttpRequest& request, AuthScheme) const override {
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
    router_.Add("GET", "/hello/{name}", [](HttpRequest& r) -> Result {
      co_return HttpResponse::Text(200, "hi " + std::string(r.Param("name")));
    }, open);
    router_.Add("POST", "/size", [](HttpRequest& r) -> Result {
      co_return HttpResponse::Text(200, "size=" + std::to_string(r.body().size()));
    }, open);
    RouteOptions aws = open;
    aws.error_style = ErrorStyle::kAws;
    router_.Add("POST", "/aws", [](HttpRequest&) -> Result {
      co_return absl::InvalidArgumentError("modelId: unknown");
    }, aws);
    router_.Add("GET", "/private", [](HttpRequest& r) -> Result {
      co_return HttpResponse::Text(200, "tenant " + r.ctx.tenant);
    });
    router_.Add("GET", "/sse", [](HttpRequest&) -> Result {
      HttpResponse r;
      r.content_type = "text/event-stream";
      r.stream = [](StreamWriter& w) -> asio::awaitable<absl::Status> {
        for (int i = 0; i < 3; ++i) {
          absl::Status s = co_await w.Event("tick", std::to_string(i));
          if (!s.ok()) co_return s;
          asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
          co_await t.async_wait(asio::use_awaitable);
        }
        co_return absl::OkStatus();
      };
      co_return r;
    }, open);
    router_.Add("GET", "/slow", [](HttpRequest&) -> Result {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
      co_await t.async_wait(asio::use_awaitable);
      co_return HttpResponse::Text(200, "done");
    }, open);
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
  EXPECT_THAT(registry_.Render(),
              HasSubstr("basalt_http_requests_total{method=\"GET\",route=\"/hello/{name}\","
                        "status=\"200\"} 1"));
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
  asio::write(s, asio::buffer(std::string("GET /hello/h1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  while (!ec) out.append(buf, s.read_some(asio::buffer(buf), ec));
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(out, HasSubstr("hi h1"));
}

}  // namespace
}  // namespace basalt::net
