// HttpClient: streamed bodies (Open/Next) and cancellation.
#include <atomic>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "net/http_client.h"
#include "net/http_client_test_server.h"
#include "net/sse_parser.h"

namespace basalt::net {
namespace {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using client_testing::Respond;
using client_testing::ServerRequest;
using client_testing::TestServer;
using client_testing::WriteRaw;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Stream = boost::beast::tcp_stream;

using HttpClientStreamTest = client_testing::ClientFixture;

std::string Chunk(std::string_view data) {
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", data.size());
  return std::string(size) + "\r\n" + std::string(data) + "\r\n";
}

constexpr std::string_view kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

// Reads a stream to its end; returns the body and how it ended.
asio::awaitable<std::pair<std::string, absl::Status>> ReadAll(
    ClientStream& stream, std::vector<size_t>* sizes = nullptr) {
  std::string body;
  while (true) {
    absl::StatusOr<std::string> chunk = co_await stream.Next();
    if (!chunk.ok()) co_return std::pair{body, chunk.status()};
    if (chunk->empty()) co_return std::pair{body, absl::OkStatus()};
    if (sizes != nullptr) sizes->push_back(chunk->size());
    body += *chunk;
  }
}

ClientRequest RequestTo(const TestServer& server) {
  ClientRequest request;
  request.url = server.Url("/stream");
  return request;
}

TEST_F(HttpClientStreamTest, ChunkedSseStreamFedToParser) {
  TestServer server([](const ServerRequest&, Stream& s, int) -> asio::awaitable<bool> {
    co_await WriteRaw(s, std::string(kChunkedHead));
    // Events split across chunks at awkward places, with pauses between writes.
    for (std::string_view part : {"event: delta\r\ndata: {\"n\":1}\r\n\r\nda", "ta: line1\ndata: l",
                                  "ine2\n\n: keep-alive\n\ndata: [DONE]\r", "\n\r\n"}) {
      co_await WriteRaw(s, Chunk(part));
      co_await client_testing::Sleep(milliseconds(5));
    }
    co_await WriteRaw(s, "0\r\n\r\n");
    co_return true;
  });
  auto client = MakeClient();
  std::vector<SseEvent> events;
  absl::Status status = Run([&]() -> asio::awaitable<absl::Status> {
    absl::StatusOr<std::unique_ptr<ClientStream>> stream = co_await client->Open(RequestTo(server));
    if (!stream.ok()) co_return stream.status();
    EXPECT_EQ((*stream)->status(), 200);
    EXPECT_EQ((*stream)->Header("Content-Type"), "text/event-stream");
    SseParser parser;
    while (true) {
      absl::StatusOr<std::string> chunk = co_await (*stream)->Next();
      if (!chunk.ok()) co_return chunk.status();
      if (chunk->empty()) co_return absl::OkStatus();
      absl::Status fed = parser.Feed(*chunk, [&](SseEvent&& e) { events.push_back(std::move(e)); });
      if (!fed.ok()) co_return fed;
    }
  }());
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event, "delta");
  EXPECT_EQ(events[0].data, "{\"n\":1}");
  EXPECT_EQ(events[1].data, "line1\nline2");
  EXPECT_EQ(events[2].data, "[DONE]");
  // Read to the end, the connection went back to the pool.
  EXPECT_EQ(client->IdleConnectionsForTest(), 1u);
  ASSERT_TRUE(Get(*client, server.Url()).ok());
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientStreamTest, ContentLengthBodyInBoundedChunks) {
  std::string big(100'000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  TestServer server([big](const ServerRequest&, Stream& s, int) -> asio::awaitable<bool> {
    co_await Respond(s, 200, big);
    co_return true;
  });
  auto client = MakeClient();
  std::vector<size_t> sizes;
  auto [body, status] = Run([&]() -> asio::awaitable<std::pair<std::string, absl::Status>> {
    absl::StatusOr<std::unique_ptr<ClientStream>> stream = co_await client->Open(RequestTo(server));
    if (!stream.ok()) co_return std::pair{std::string(), stream.status()};
    auto result = co_await ReadAll(**stream, &sizes);
    // Past the end, Next keeps answering "end".
    absl::StatusOr<std::string> again = co_await (*stream)->Next();
    EXPECT_TRUE(again.ok() && again->empty());
    co_return result;
  }());
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(body, big);
  for (size_t size : sizes) EXPECT_LE(size, 16u * 1024);
  EXPECT_EQ(client->IdleConnectionsForTest(), 1u);
}

TEST_F(HttpClientStreamTest, EmptyBodyEndsAtOnce) {
  TestServer server([](const ServerRequest&, Stream& s, int) -> asio::awaitable<bool> {
    co_await WriteRaw(s, "HTTP/1.1 204 No Content\r\n\r\n");
    co_return true;
  });
  auto client = MakeClient();
  auto [body, status] = Run([&]() -> asio::awaitable<std::pair<std::string, absl::Status>> {
    absl::StatusOr<std::unique_ptr<ClientStream>> stream = co_await client->Open(RequestTo(server));
    if (!stream.ok()) co_return std::pair{std::string(), stream.status()};
    EXPECT_EQ((*stream)->status(), 204);
    co_return co_await ReadAll(**stream);
  }());
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(body, "");
  EXPECT_EQ(client->IdleConnectionsForTest(), 1u);
}

// A server whose first request hangs until the client goes away; later ones answer.
class HangingServer {
 public:
  HangingServer()
      : server_([this](const ServerRequest&, Stream& s, int) -> asio::awaitable<bool> {
          if (calls_++ > 0) {
            co_await Respond(s, 200, "ok");
            co_return true;
          }
          co_await WriteRaw(s, std::string(kChunkedHead) + Chunk("data: first\n\n"));
          if (co_await client_testing::AwaitClientClose(s, milliseconds(3000))) {
            server_.NoteClientClosed();
          }
          co_return false;
        }) {}
  TestServer& server() { return server_; }

 private:
  std::atomic<int> calls_{0};
  TestServer server_;
};

TEST_F(HttpClientStreamTest, DestroyingStreamEarlyClosesConnection) {
  HangingServer hanging;
  auto client = MakeClient();
  absl::StatusOr<std::string> first = Run([&]() -> asio::awaitable<absl::StatusOr<std::string>> {
    absl::StatusOr<std::unique_ptr<ClientStream>> stream =
        co_await client->Open(RequestTo(hanging.server()));
    if (!stream.ok()) co_return stream.status();
    co_return co_await (*stream)->Next();
  }());  // the stream is destroyed here, mid-body
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "data: first\n\n");
  EXPECT_TRUE(TestServer::WaitFor([&] { return hanging.server().client_closed(); }, 1));
  EXPECT_EQ(client->IdleConnectionsForTest(), 0u);
  // The next request needs a new connection.
  ASSERT_TRUE(Get(*client, hanging.server().Url()).ok());
  EXPECT_EQ(hanging.server().accepted(), 2);
}

TEST_F(HttpClientStreamTest, StreamOutlivesClient) {
  TestServer server([](const ServerRequest&, Stream& s, int) -> asio::awaitable<bool> {
    co_await Respond(s, 200, "still here");
    co_return true;
  });
  auto client = MakeClient();
  std::unique_ptr<ClientStream> stream = *Run(client->Open(RequestTo(server)));
  client.reset();
  auto [body, status] = Run(ReadAll(*stream));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(body, "still here");
}

TEST_F(HttpClientStreamTest, CancellationSignalStopsSendAndClosesConnection) {
  HangingServer hanging;
  auto client = MakeClient();
  asio::cancellation_signal signal;
  std::optional<absl::StatusOr<ClientResponse>> result;
  asio::co_spawn(io_, client->Send(RequestTo(hanging.server())),
                 asio::bind_cancellation_slot(
                     signal.slot(), [&](std::exception_ptr e, absl::StatusOr<ClientResponse> r) {
                       EXPECT_FALSE(e);
                       result = std::move(r);
                     }));
  asio::steady_timer timer(io_, milliseconds(50));
  timer.async_wait([&](auto) { signal.emit(asio::cancellation_type::terminal); });
  const auto start = Clock::now();
  io_.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), absl::StatusCode::kCancelled) << result->status();
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  EXPECT_TRUE(TestServer::WaitFor([&] { return hanging.server().client_closed(); }, 1));
  // The client is still usable afterwards.
  absl::StatusOr<ClientResponse> after = Get(*client, hanging.server().Url());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->body, "ok");
}

TEST_F(HttpClientStreamTest, AwaitableOrTimerCancelsSend) {
  HangingServer hanging;
  auto client = MakeClient();
  const auto start = Clock::now();
  const size_t winner = Run([&]() -> asio::awaitable<size_t> {
    asio::steady_timer timer(co_await asio::this_coro::executor, milliseconds(50));
    std::variant<absl::StatusOr<ClientResponse>, std::monostate> r = co_await (
        client->Send(RequestTo(hanging.server())) || timer.async_wait(asio::use_awaitable));
    co_return r.index();
  }());
  EXPECT_EQ(winner, 1u);
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  EXPECT_TRUE(TestServer::WaitFor([&] { return hanging.server().client_closed(); }, 1));
}

TEST_F(HttpClientStreamTest, CancelledNextClosesStream) {
  HangingServer hanging;
  auto client = MakeClient();
  auto [winner, later] = Run([&]() -> asio::awaitable<std::pair<size_t, absl::Status>> {
    absl::StatusOr<std::unique_ptr<ClientStream>> stream =
        co_await client->Open(RequestTo(hanging.server()));
    if (!stream.ok()) co_return std::pair{size_t{99}, stream.status()};
    absl::StatusOr<std::string> first = co_await (*stream)->Next();
    EXPECT_EQ(first.value_or(""), "data: first\n\n");
    asio::steady_timer timer(co_await asio::this_coro::executor, milliseconds(50));
    auto r = co_await ((*stream)->Next() || timer.async_wait(asio::use_awaitable));
    // The cancelled read left the stream failed, not half-read.
    absl::StatusOr<std::string> after = co_await (*stream)->Next();
    co_return std::pair{r.index(), after.status()};
  }());
  EXPECT_EQ(winner, 1u);
  EXPECT_EQ(later.code(), absl::StatusCode::kCancelled) << later;
  EXPECT_TRUE(TestServer::WaitFor([&] { return hanging.server().client_closed(); }, 1));
}

TEST_F(HttpClientStreamTest, CancelWhileWaitingForPoolSlot) {
  TestServer server([](const ServerRequest&, Stream& s, int) -> asio::awaitable<bool> {
    co_await client_testing::Sleep(milliseconds(200));
    co_await Respond(s, 200, "ok");
    co_return true;
  });
  HttpClientConfig config;
  config.max_connections_per_host = 1;
  auto client = MakeClient(config);
  asio::cancellation_signal signal;
  std::optional<absl::StatusOr<ClientResponse>> first, second;
  asio::co_spawn(io_, client->Send(RequestTo(server)),
                 [&](std::exception_ptr, absl::StatusOr<ClientResponse> r) { first = r; });
  asio::co_spawn(io_, client->Send(RequestTo(server)),
                 asio::bind_cancellation_slot(
                     signal.slot(),
                     [&](std::exception_ptr, absl::StatusOr<ClientResponse> r) { second = r; }));
  asio::steady_timer timer(io_, milliseconds(30));
  timer.async_wait([&](auto) { signal.emit(asio::cancellation_type::terminal); });
  io_.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->ok()) << first->status();
  EXPECT_EQ(second->status().code(), absl::StatusCode::kCancelled) << second->status();
  // The slot bookkeeping survived: the pooled connection is reused.
  ASSERT_TRUE(Get(*client, server.Url()).ok());
  EXPECT_EQ(server.accepted(), 1);
}

}  // namespace
}  // namespace basalt::net
