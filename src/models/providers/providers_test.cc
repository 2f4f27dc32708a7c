// The OpenAI and Anthropic providers against a fake upstream on loopback that
// speaks each API's real wire format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "core/json.h"
#include "models/providers/anthropic_provider.h"
#include "models/providers/openai_provider.h"
#include "models/router/retry_after.h"
#include "net/http_client_test_server.h"

namespace basalt::models {
namespace {

namespace asio = boost::asio;
using net::client_testing::ServerRequest;
using net::client_testing::TestServer;
using ::testing::HasSubstr;

asio::awaitable<bool> WriteRaw(boost::beast::tcp_stream& stream, std::string text) {
  co_await asio::async_write(stream, asio::buffer(text), asio::use_awaitable);
  co_return true;
}

std::string JsonResponse(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string SseResponse(const std::vector<std::string>& events) {
  std::string out = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const auto& e : events) {
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", e.size());
    out += std::string(size) + "\r\n" + e + "\r\n";
  }
  return out + "0\r\n\r\n";
}

// Reads a stream to its end, collecting text, usage and whether it stopped.
struct Drained {
  std::string text;
  Usage usage;
  bool stopped = false;
  absl::Status status;
};
asio::awaitable<void> Drain(absl::StatusOr<std::unique_ptr<ChatStream>>& stream, Drained& out) {
  if (!stream.ok()) {
    out.status = stream.status();
    co_return;
  }
  for (;;) {
    auto delta = co_await (*stream)->Next();
    if (!delta.ok()) {
      out.status = delta.status();
      co_return;
    }
    if (!delta->has_value()) co_return;
    const ChatDelta& d = **delta;
    if (d.type == ChatDelta::Type::kTextDelta) out.text += d.text;
    if (d.type == ChatDelta::Type::kUsage) out.usage = d.usage;
    if (d.type == ChatDelta::Type::kMessageStop) out.stopped = true;
  }
}

class ProviderTest : public ::testing::Test {
 protected:
  // Runs `body` as a coroutine on a fresh io_context with a ClientSet for it.
  void Run(const std::function<asio::awaitable<void>(const net::ClientSet&)>& body) {
    asio::io_context ioc;
    HttpClientConfig client_config;
    auto clients = net::ClientSet::Create({&ioc}, client_config);
    ASSERT_TRUE(clients.ok());
    const net::ClientSet& set = **clients;
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> { co_await body(set); }, asio::detached);
    ioc.run();
  }

  ChatRequest Hello() {
    ChatRequest r;
    r.model = "gpt-test";
    r.system = "Be brief.";
    r.messages.push_back(Message{Role::kUser, {ContentBlock::Text("hello")}});
    r.max_tokens = 16;
    return r;
  }

  ProviderConfig Config(const TestServer& server, const std::string& type, const std::string& path) {
    ProviderConfig c;
    c.name = type + "-test";
    c.type = type;
    c.base_url = server.Url(path);
    c.api_key = "sk-test-key";
    c.timeout_ms = 2000;
    return c;
  }

  RequestContext ctx_;
};

TEST_F(ProviderTest, OpenAiChatSendsTheRequestAndParsesTheAnswer) {
  std::string seen_body, seen_auth, seen_target;
  TestServer server([&](const ServerRequest& req, boost::beast::tcp_stream& s, int) {
    seen_body = req.body();
    seen_auth = std::string(req["authorization"]);
    seen_target = std::string(req.target());
    return WriteRaw(s, JsonResponse(200, R"({"id":"chatcmpl-1","object":"chat.completion","created":1,
      "model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":"hi there"},
      "finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})"));
  });
  absl::StatusOr<ChatResponse> result;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    OpenAiProvider provider(Config(server, "openai", "/v1"), clients);
    result = co_await provider.Chat(ctx_, Hello());
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->content.size(), 1u);
  EXPECT_EQ(result->content[0].text, "hi there");
  EXPECT_EQ(result->usage.input_tokens, 5);
  EXPECT_EQ(seen_target, "/v1/chat/completions");
  EXPECT_EQ(seen_auth, "Bearer sk-test-key");
  auto body = nlohmann::json::parse(seen_body);
  EXPECT_EQ(body["model"], "gpt-test");
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][1]["content"], "hello");
}

TEST_F(ProviderTest, OpenAiStreamYieldsCanonicalDeltas) {
  std::string seen_body;
  TestServer server([&](const ServerRequest& req, boost::beast::tcp_stream& s, int) {
    seen_body = req.body();
    return WriteRaw(s, SseResponse({
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n",
        "data: [DONE]\n\n"}));
  });
  Drained out;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    OpenAiProvider provider(Config(server, "openai", "/v1"), clients);
    auto stream = co_await provider.StreamChat(ctx_, Hello());
    co_await Drain(stream, out);
  });
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.text, "Hello");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.usage.output_tokens, 2);
  auto body = nlohmann::json::parse(seen_body);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
}

TEST_F(ProviderTest, RateLimitCarriesRetryAfterAndServerErrorsAreRetryable) {
  int calls = 0;
  TestServer server([&](const ServerRequest&, boost::beast::tcp_stream& s, int) {
    ++calls;
    if (calls == 1) {
      return WriteRaw(s, JsonResponse(429, R"({"error":{"message":"slow down","type":"rate_limit"}})",
                                      "Retry-After: 2\r\n"));
    }
    if (calls == 2) return WriteRaw(s, JsonResponse(503, R"({"error":{"message":"overloaded"}})"));
    return WriteRaw(s, JsonResponse(400, R"({"error":{"message":"bad max_tokens"}})"));
  });
  std::vector<absl::Status> results;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    OpenAiProvider provider(Config(server, "openai", "/v1"), clients);
    for (int i = 0; i < 3; ++i) results.push_back((co_await provider.Chat(ctx_, Hello())).status());
  });
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(results[0].message()), HasSubstr("slow down"));
  ASSERT_TRUE(RetryAfterOf(results[0]).has_value());
  EXPECT_EQ(*RetryAfterOf(results[0]), std::chrono::seconds(2));
  EXPECT_EQ(results[1].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(results[2].code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ProviderTest, ResetMidStreamIsAnError) {
  TestServer server([&](const ServerRequest&, boost::beast::tcp_stream& s, int) -> asio::awaitable<bool> {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string first = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    char size[16];
    std::snprintf(size, sizeof(size), "%zx\r\n", first.size());
    co_await WriteRaw(s, head + size + first + "\r\n");
    boost::system::error_code ec;
    s.socket().set_option(asio::socket_base::linger(true, 0), ec);
    s.socket().close(ec);  // RST before the stream ends
    co_return false;
  });
  Drained out;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    OpenAiProvider provider(Config(server, "openai", "/v1"), clients);
    auto stream = co_await provider.StreamChat(ctx_, Hello());
    co_await Drain(stream, out);
  });
  EXPECT_EQ(out.text, "Hi");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
}

TEST_F(ProviderTest, AnthropicChatAndStream) {
  std::vector<std::string> versions, keys;
  TestServer server([&](const ServerRequest& req, boost::beast::tcp_stream& s, int) {
    versions.emplace_back(req["anthropic-version"]);
    keys.emplace_back(req["x-api-key"]);
    auto body = nlohmann::json::parse(req.body());
    if (body.value("stream", false)) {
      return WriteRaw(s, SseResponse({
          "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n",
          "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
          "event: ping\ndata: {\"type\":\"ping\"}\n\n",
          "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Bon\"}}\n\n",
          "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"jour\"}}\n\n",
          "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
          "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n",
          "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"}));
    }
    return WriteRaw(s, JsonResponse(200, R"({"id":"msg_1","type":"message","role":"assistant",
      "model":"claude-x","content":[{"type":"text","text":"Bonjour"}],"stop_reason":"end_turn",
      "stop_sequence":null,"usage":{"input_tokens":4,"output_tokens":2}})"));
  });
  absl::StatusOr<ChatResponse> plain;
  Drained out;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    AnthropicProvider provider(Config(server, "anthropic", ""), clients);
    plain = co_await provider.Chat(ctx_, Hello());
    auto stream = co_await provider.StreamChat(ctx_, Hello());
    co_await Drain(stream, out);
  });
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->content[0].text, "Bonjour");
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.text, "Bonjour");
  EXPECT_TRUE(out.stopped);
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0], "2023-06-01");
  EXPECT_EQ(keys[0], "sk-test-key");
}

}  // namespace
}  // namespace basalt::models
