// BedrockProvider's streams (ConverseStream, InvokeModelWithResponseStream) over
// real AWS event-stream frames from the fake Bedrock in bedrock_test_fake.h,
// written split across chunk boundaries.
#include "models/providers/bedrock_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "models/providers/bedrock_provider.h"
#include "models/providers/bedrock_test_fake.h"
#include "net/eventstream.h"

namespace basalt::models {
namespace {

using bedrock_testing::BedrockProviderTest;
using bedrock_testing::FakeBedrock;
using bedrock_testing::FakeEnv;
using bedrock_testing::Frames;
using bedrock_testing::kModel;
using bedrock_testing::kModelPath;
using bedrock_testing::Seen;
using net::EncodeEvent;
using net::EncodeException;
using ::testing::HasSubstr;
namespace asio = boost::asio;
using Type = ChatDelta::Type;

std::vector<std::string> TextFrames() {
  return {
      EncodeEvent("messageStart", R"({"role":"assistant"})"),
      EncodeEvent("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})"),
      EncodeEvent("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"lo"}})"),
      EncodeEvent("contentBlockStop", R"({"contentBlockIndex":0})"),
  };
}

class BedrockStreamTest : public BedrockProviderTest {
 protected:
  // Streams a Converse call; the deltas read and the error that ended it.
  absl::Status StreamAll(const FakeBedrock& fake, std::vector<ChatDelta>* deltas) {
    absl::Status failure;
    Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
      BedrockProvider provider(Config(fake), clients, FakeEnv({}));
      ChatRequest request = Hello();
      auto stream = co_await provider.StreamChat(ctx_, request);
      if (!stream.ok()) {
        failure = stream.status();
        co_return;
      }
      failure = co_await Drain(**stream, deltas);
    });
    return failure;
  }
};

TEST_F(BedrockStreamTest, ConverseStreamYieldsCanonicalDeltas) {
  std::vector<std::string> frames = TextFrames();
  frames.push_back(EncodeEvent(
      "contentBlockStart",
      R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tu_1","name":"get_weather"}}})"));
  frames.push_back(
      EncodeEvent("contentBlockDelta",
                  R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}})"));
  frames.push_back(
      EncodeEvent("contentBlockDelta",
                  R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}})"));
  frames.push_back(EncodeEvent("contentBlockStop", R"({"contentBlockIndex":1})"));
  frames.push_back(EncodeEvent("messageStop", R"({"stopReason":"tool_use"})"));
  frames.push_back(EncodeEvent("metadata",
                               R"({"usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5},)"
                               R"("metrics":{"latencyMs":9}})"));
  FakeBedrock fake(Frames(frames));
  std::vector<ChatDelta> deltas;
  absl::Status failure = StreamAll(fake, &deltas);
  ASSERT_TRUE(failure.ok()) << failure;

  std::vector<Type> types;
  for (const ChatDelta& d : deltas) types.push_back(d.type);
  EXPECT_EQ(types, (std::vector<Type>{Type::kMessageStart, Type::kBlockStart, Type::kTextDelta,
                                      Type::kTextDelta, Type::kBlockStop, Type::kBlockStart,
                                      Type::kToolInputDelta, Type::kToolInputDelta,
                                      Type::kBlockStop, Type::kMessageStop, Type::kUsage}));
  ASSERT_EQ(deltas.size(), 11u);
  EXPECT_EQ(deltas[0].model, kModel);
  EXPECT_EQ(deltas[2].text + deltas[3].text, "Hello");
  EXPECT_TRUE(deltas[5].is_tool);
  EXPECT_EQ(deltas[5].tool_use.id, "tu_1");
  EXPECT_EQ(deltas[5].tool_use.name, "get_weather");
  EXPECT_EQ(deltas[6].partial_json + deltas[7].partial_json, R"({"city":"Paris"})");
  EXPECT_EQ(deltas[9].stop_reason, StopReason::kToolUse);
  EXPECT_EQ(deltas[10].usage.input_tokens, 3);
  EXPECT_EQ(deltas[10].usage.output_tokens, 2);

  const std::vector<Seen> seen = fake.seen();
  ASSERT_EQ(seen.size(), 1u);
  ExpectSigned(seen[0]);
  EXPECT_EQ(seen[0].target, std::string(kModelPath) + "/converse-stream");
  EXPECT_EQ(seen[0].accept, net::kEventStreamContentType);
}

struct ExceptionCase {
  const char* type;
  absl::StatusCode code;
};

class BedrockStreamExceptionTest : public BedrockStreamTest,
                                   public ::testing::WithParamInterface<ExceptionCase> {};

TEST_P(BedrockStreamExceptionTest, ExceptionFrameMidStreamEndsItWithTheMappedError) {
  std::vector<std::string> frames = TextFrames();
  frames.resize(2);  // messageStart, one text delta
  frames.push_back(EncodeException(GetParam().type, R"({"message":"something went wrong"})"));
  frames.push_back(
      EncodeEvent("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"x"}})"));
  FakeBedrock fake(Frames(frames));
  std::vector<ChatDelta> deltas;
  absl::Status failure = StreamAll(fake, &deltas);
  EXPECT_EQ(failure.code(), GetParam().code) << failure;
  EXPECT_THAT(std::string(failure.message()), HasSubstr(GetParam().type));
  EXPECT_THAT(std::string(failure.message()), HasSubstr("something went wrong"));
  ASSERT_EQ(deltas.size(), 3u);  // start, block start, "Hel"; nothing after the exception
  EXPECT_EQ(deltas[2].text, "Hel");
}

INSTANTIATE_TEST_SUITE_P(
    Types, BedrockStreamExceptionTest,
    ::testing::Values(ExceptionCase{"throttlingException", absl::StatusCode::kResourceExhausted},
                      ExceptionCase{"validationException", absl::StatusCode::kInvalidArgument},
                      ExceptionCase{"modelStreamErrorException", absl::StatusCode::kUnavailable},
                      ExceptionCase{"serviceUnavailableException", absl::StatusCode::kUnavailable},
                      ExceptionCase{"internalServerException", absl::StatusCode::kUnavailable}));

TEST_F(BedrockStreamTest, TruncatedOrCorruptStreamsAreUnavailable) {
  // The body ends halfway through a frame.
  std::vector<std::string> truncated = TextFrames();
  truncated.back().resize(truncated.back().size() / 2);
  FakeBedrock cut(Frames(truncated));
  std::vector<ChatDelta> deltas;
  absl::Status failure = StreamAll(cut, &deltas);
  EXPECT_EQ(failure.code(), absl::StatusCode::kUnavailable) << failure;
  EXPECT_THAT(std::string(failure.message()), HasSubstr("ended inside an event-stream message"));
  EXPECT_EQ(deltas.size(), 4u);  // everything before the cut frame

  // A flipped payload byte fails the message CRC.
  std::vector<std::string> corrupt = TextFrames();
  corrupt[1][corrupt[1].size() - 8] ^= 0x01;
  FakeBedrock bad(Frames(corrupt));
  deltas.clear();
  failure = StreamAll(bad, &deltas);
  EXPECT_EQ(failure.code(), absl::StatusCode::kUnavailable) << failure;
  EXPECT_THAT(std::string(failure.message()), HasSubstr("malformed event stream"));

  // A clean end before messageStop.
  FakeBedrock early(Frames(TextFrames()));
  deltas.clear();
  failure = StreamAll(early, &deltas);
  EXPECT_EQ(failure.code(), absl::StatusCode::kUnavailable) << failure;
  EXPECT_THAT(std::string(failure.message()), HasSubstr("bedrock: upstream stream ended before"));
}

TEST_F(BedrockStreamTest, InvokeWithResponseStreamYieldsDecodedChunks) {
  const std::vector<std::string> payloads = {
      R"({"type":"message_start","message":{"id":"msg_1","role":"assistant"}})",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})",
      R"({"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":3}})"};
  std::vector<std::string> frames;
  for (const std::string& p : payloads) {
    frames.push_back(EncodeEvent("chunk", nlohmann::json{{"bytes", absl::Base64Escape(p)}}.dump()));
  }
  frames.push_back(EncodeException("modelTimeoutException", R"({"message":"too slow"})"));
  FakeBedrock fake(Frames(frames));
  std::vector<std::string> chunks;
  absl::Status failure;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    BedrockProvider provider(Config(fake), clients, FakeEnv({}));
    std::string body = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]})";
    auto stream = co_await provider.InvokeModelWithResponseStream(ctx_, kModel, std::move(body));
    if (!stream.ok()) {
      failure = stream.status();
      co_return;
    }
    for (;;) {
      absl::StatusOr<std::optional<std::string>> chunk = co_await (*stream)->Next();
      if (!chunk.ok()) {
        failure = chunk.status();
        co_return;
      }
      if (!chunk->has_value()) co_return;
      chunks.push_back(**chunk);
    }
  });
  EXPECT_EQ(chunks, payloads);
  EXPECT_EQ(failure.code(), absl::StatusCode::kDeadlineExceeded) << failure;
  EXPECT_THAT(std::string(failure.message()), HasSubstr("modelTimeoutException: too slow"));
  const std::vector<Seen> seen = fake.seen();
  ASSERT_EQ(seen.size(), 1u);
  ExpectSigned(seen[0]);
  EXPECT_EQ(seen[0].target, std::string(kModelPath) + "/invoke-with-response-stream");
}

}  // namespace
}  // namespace basalt::models
