// The provider through its port, with the coroutines driven by a real
// io_context.
#include "models/builtin/builtin_provider.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cmath>
#include <functional>

namespace basalt::models {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using Type = ChatDelta::Type;

// Runs `body` as a coroutine on a fresh io_context until it finishes.
void RunCoroutine(std::function<asio::awaitable<void>()> body) {
  asio::io_context ioc;
  bool done = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await body();
        done = true;
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(done);
}

ChatRequest Question() {
  ChatRequest r;
  r.model = "my-alias";
  r.system = "Mercury is the closest planet to the Sun. Jupiter is the largest planet.";
  Message m;
  m.content.push_back(ContentBlock::Text("Which planet is the largest?"));
  r.messages.push_back(m);
  return r;
}

struct Collected {
  absl::Status status;
  std::vector<ChatDelta> deltas;
};

asio::awaitable<Collected> Drain(BuiltinProvider& provider, const RequestContext& ctx,
                                 const ChatRequest& request) {
  Collected out;
  auto stream = co_await provider.StreamChat(ctx, request);
  if (!stream.ok()) {
    out.status = stream.status();
    co_return out;
  }
  while (true) {
    auto next = co_await (*stream)->Next();
    if (!next.ok()) {
      out.status = next.status();
      co_return out;
    }
    if (!next->has_value()) break;
    out.deltas.push_back(**next);
  }
  co_return out;
}

TEST(BuiltinProvider, NameAndModels) {
  BuiltinProvider provider;
  EXPECT_EQ(provider.name(), "builtin");
  absl::StatusOr<std::vector<ModelInfo>> models;
  const RequestContext ctx;
  RunCoroutine([&]() -> asio::awaitable<void> { models = co_await provider.ListModels(ctx); });
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].id, "builtin-chat");
  EXPECT_EQ((*models)[1].id, "builtin-embed");
  for (const auto& m : *models) {
    EXPECT_EQ(m.provider, "builtin");
    EXPECT_EQ(m.owned_by, "basalt");
  }
}

TEST(BuiltinProvider, ChatAnswersAndEchoesTheModel) {
  BuiltinProvider provider;
  absl::StatusOr<ChatResponse> a, b;
  const ChatRequest request = Question();
  const RequestContext ctx;
  RunCoroutine([&]() -> asio::awaitable<void> {
    a = co_await provider.Chat(ctx, request);
    b = co_await provider.Chat(ctx, request);
  });
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->content[0].text, "Jupiter is the largest planet.");
  EXPECT_EQ(a->model, "my-alias");
  EXPECT_EQ(b->content[0].text, a->content[0].text);
  EXPECT_NE(a->id, b->id);  // ids are unique; everything else is deterministic
}

TEST(BuiltinProvider, StreamConcatenatesToTheNonStreamAnswer) {
  BuiltinProvider provider;
  const ChatRequest request = Question();
  const RequestContext ctx;
  absl::StatusOr<ChatResponse> whole;
  Collected streamed;
  RunCoroutine([&]() -> asio::awaitable<void> {
    whole = co_await provider.Chat(ctx, request);
    streamed = co_await Drain(provider, ctx, request);
  });
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(streamed.status.ok()) << streamed.status;
  const auto& d = streamed.deltas;
  ASSERT_GE(d.size(), 6u);
  EXPECT_EQ(d.front().type, Type::kMessageStart);
  EXPECT_EQ(d[1].type, Type::kBlockStart);
  EXPECT_EQ(d[d.size() - 3].type, Type::kBlockStop);
  EXPECT_EQ(d[d.size() - 2].type, Type::kMessageStop);
  EXPECT_EQ(d.back().type, Type::kUsage);
  std::string text;
  int pieces = 0;
  for (size_t i = 2; i + 3 < d.size(); ++i) {
    EXPECT_EQ(d[i].type, Type::kTextDelta);
    text += d[i].text;
    ++pieces;
  }
  EXPECT_GT(pieces, 1);
  EXPECT_EQ(text, whole->content[0].text);
  EXPECT_EQ(d[d.size() - 2].stop_reason, whole->stop_reason);
  EXPECT_EQ(d.back().usage.input_tokens, whole->usage.input_tokens);
  EXPECT_EQ(d.back().usage.output_tokens, whole->usage.output_tokens);
}

TEST(BuiltinProvider, ForcedToolStreamsItsInput) {
  BuiltinProvider provider;
  ChatRequest request = Question();
  ToolSpec tool;
  tool.name = "lookup";
  tool.input_schema = json::parse(R"({"type":"object","properties":{
      "planet":{"type":"string"},"units":{"enum":["km","mi"]},
      "opts":{"type":"object","properties":{"exact":{"type":"boolean"}},"required":["exact"]}},
      "required":["planet","units","opts"]})");
  request.tools.push_back(tool);
  request.tool_choice = ToolChoice{ToolChoice::Mode::kTool, "lookup"};
  const RequestContext ctx;
  absl::StatusOr<ChatResponse> whole;
  Collected streamed;
  RunCoroutine([&]() -> asio::awaitable<void> {
    whole = co_await provider.Chat(ctx, request);
    streamed = co_await Drain(provider, ctx, request);
  });
  ASSERT_TRUE(whole.ok());
  const json expected = {
      {"planet", "Which planet is the largest?"}, {"units", "km"}, {"opts", {{"exact", false}}}};
  EXPECT_EQ(whole->content[0].tool_use.input, expected);
  EXPECT_EQ(whole->stop_reason, StopReason::kToolUse);
  ASSERT_TRUE(streamed.status.ok());
  std::string json_text;
  for (const auto& d : streamed.deltas) {
    if (d.type == Type::kToolInputDelta) json_text += d.partial_json;
  }
  EXPECT_EQ(json::parse(json_text), expected);
  EXPECT_TRUE(streamed.deltas[1].is_tool);
  EXPECT_EQ(streamed.deltas[1].tool_use.name, "lookup");
}

TEST(BuiltinProvider, ErrorsNameTheField) {
  BuiltinProvider provider;
  const RequestContext ctx;
  RequestContext expired;
  expired.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  const ChatRequest good = Question();
  ChatRequest bad = Question();
  bad.max_tokens = -1;
  absl::StatusOr<ChatResponse> late, invalid;
  Collected late_stream;
  RunCoroutine([&]() -> asio::awaitable<void> {
    // Requests are named locals: g++ 12 miscompiles owning temporaries in co_await.
    late = co_await provider.Chat(expired, good);
    invalid = co_await provider.Chat(ctx, bad);
    late_stream = co_await Drain(provider, expired, good);
  });
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(invalid.status().message(), "max_tokens: must be at least 1");
  EXPECT_EQ(late_stream.status.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(BuiltinProvider, EmbedsEachInput) {
  BuiltinProvider provider;
  const RequestContext ctx;
  EmbeddingRequest request;
  request.inputs = {"hello world", "quarterly revenue grew"};
  request.dimensions = 384;
  EmbeddingRequest no_inputs;
  EmbeddingRequest wrong_dims = request;
  wrong_dims.dimensions = 256;
  EmbeddingRequest blank = request;
  blank.inputs[1] = "  ";
  absl::StatusOr<EmbeddingResponse> ok, empty, dims, blank_out;
  RunCoroutine([&]() -> asio::awaitable<void> {
    ok = co_await provider.Embed(ctx, request);
    empty = co_await provider.Embed(ctx, no_inputs);
    dims = co_await provider.Embed(ctx, wrong_dims);
    blank_out = co_await provider.Embed(ctx, blank);
  });
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->model, "builtin-embed");
  ASSERT_EQ(ok->embeddings.size(), 2u);
  for (const auto& v : ok->embeddings) {
    ASSERT_EQ(v.size(), 384u);
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-6);
  }
  EXPECT_EQ(ok->usage.input_tokens, 4 + 6);  // hell|o|worl|d  quar|terl|y|reve|nue|grew
  EXPECT_EQ(ok->usage.output_tokens, 0);
  EXPECT_EQ(empty.status().message(), "input: must not be empty");
  EXPECT_EQ(dims.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::string(dims.status().message()).starts_with("dimensions: ")) << dims.status();
  EXPECT_EQ(blank_out.status().message(), "input[1]: must not be empty");
}

}  // namespace
}  // namespace basalt::models
