// BedrockProvider's plain calls (Converse, InvokeModel, Titan embeddings), errors
// and credentials against the fake Bedrock in bedrock_test_fake.h, which verifies
// every request's SigV4 signature. Streams: bedrock_stream_test.cc.
#include "models/providers/bedrock_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.h"
#include "models/providers/bedrock_test_fake.h"
#include "models/router/retry_after.h"

namespace basalt::models {
namespace {

using bedrock_testing::Answer;
using bedrock_testing::BedrockProviderTest;
using bedrock_testing::FakeBedrock;
using bedrock_testing::FakeEnv;
using bedrock_testing::JsonResponse;
using bedrock_testing::kModel;
using bedrock_testing::kModelPath;
using bedrock_testing::Seen;
using net::client_testing::ServerRequest;
namespace asio = boost::asio;
using ::testing::HasSubstr;

constexpr char kConverseAnswer[] = R"({"output":{"message":{"role":"assistant",
  "content":[{"text":"hi there"}]}},"stopReason":"end_turn",
  "usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7},"metrics":{"latencyMs":12}})";

TEST_F(BedrockProviderTest, ConverseIsSignedAndRoundTrips) {
  FakeBedrock fake(Answer(JsonResponse(200, kConverseAnswer, "x-amzn-RequestId: req-42\r\n")));
  absl::StatusOr<ChatResponse> result;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    BedrockProvider provider(Config(fake), clients, FakeEnv({}));
    result = co_await provider.Chat(ctx_, Hello());
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->content.size(), 1u);
  EXPECT_EQ(result->content[0].text, "hi there");
  EXPECT_EQ(result->stop_reason, StopReason::kEndTurn);
  EXPECT_EQ(result->usage.input_tokens, 5);
  EXPECT_EQ(result->usage.output_tokens, 2);
  EXPECT_EQ(result->model, kModel);
  EXPECT_EQ(result->id, "req-42");

  const std::vector<Seen> seen = fake.seen();
  ASSERT_EQ(seen.size(), 1u);
  ExpectSigned(seen[0]);  // with the session token, which the verifier requires
  EXPECT_EQ(seen[0].target, std::string(kModelPath) + "/converse");
  auto body = ParseJson(seen[0].body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["system"][0]["text"], "Be brief.");
  EXPECT_EQ((*body)["messages"][0]["content"][0]["text"], "hello");
  EXPECT_EQ((*body)["inferenceConfig"]["maxTokens"], 16);
  EXPECT_FALSE(body->contains("modelId"));
}

TEST_F(BedrockProviderTest, ThrottlingCarriesTypeAndRetryAfter) {
  FakeBedrock fake(Answer(JsonResponse(
      429, R"({"message":"Too many requests, please wait before trying again."})",
      "x-amzn-ErrorType: ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
      "\r\nRetry-After: 3\r\n")));
  absl::Status chat, stream;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    BedrockProvider provider(Config(fake), clients, FakeEnv({}));
    chat = (co_await provider.Chat(ctx_, Hello())).status();
    stream = (co_await provider.StreamChat(ctx_, Hello())).status();
  });
  for (const absl::Status& status : {chat, stream}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("bedrock answered HTTP 429: ThrottlingException: Too many requests"));
    ASSERT_TRUE(RetryAfterOf(status).has_value());
    EXPECT_EQ(*RetryAfterOf(status), std::chrono::seconds(3));
  }
}

TEST_F(BedrockProviderTest, AwsErrorTypesMapByStatus) {
  int calls = 0;
  FakeBedrock fake([&](const ServerRequest&, boost::beast::tcp_stream& stream) {
    ++calls;
    if (calls == 1) {
      return net::client_testing::WriteRaw(
          stream, JsonResponse(400, R"({"message":"Malformed input request"})",
                               "x-amzn-ErrorType: ValidationException\r\n"));
    }
    if (calls == 2) {  // the type only in the body, as some AWS front ends send it
      return net::client_testing::WriteRaw(
          stream, JsonResponse(503, R"({"__type":"com.amazon#ServiceUnavailableException",
                                       "Message":"Bedrock is unable to process your request."})"));
    }
    return net::client_testing::WriteRaw(
        stream,
        JsonResponse(403, R"({"message":"The security token included in the request is invalid."})",
                     "x-amzn-ErrorType: UnrecognizedClientException:\r\n"));
  });
  std::vector<absl::Status> results;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    BedrockProvider provider(Config(fake), clients, FakeEnv({}));
    for (int i = 0; i < 3; ++i) results.push_back((co_await provider.Chat(ctx_, Hello())).status());
  });
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(results[0].message()), HasSubstr("ValidationException: Malformed input"));
  EXPECT_EQ(results[1].code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(results[1].message()), HasSubstr("ServiceUnavailableException: Bedrock"));
  EXPECT_EQ(results[2].code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(results[2].message()), HasSubstr("UnrecognizedClientException"));
}

TEST_F(BedrockProviderTest, InvokeModelPassesTheNativeBodyThrough) {
  const std::string request_body = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":50,)"
                                   R"("messages":[{"role":"user","content":"Héllo"}],"top_k":3})";
  const std::string answer =
      R"({"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text",)"
      R"("text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}})";
  FakeBedrock fake(Answer(JsonResponse(200, answer)));
  absl::StatusOr<std::string> result;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    BedrockProvider provider(Config(fake), clients, FakeEnv({}));
    std::string body = request_body;
    result = co_await provider.InvokeModel(ctx_, kModel, std::move(body));
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, answer);
  const std::vector<Seen> seen = fake.seen();
  ASSERT_EQ(seen.size(), 1u);
  ExpectSigned(seen[0]);
  EXPECT_EQ(seen[0].target, std::string(kModelPath) + "/invoke");
  EXPECT_EQ(seen[0].body, request_body);  // byte for byte
  EXPECT_EQ(seen[0].accept, "application/json");
}

TEST_F(BedrockProviderTest, EmbedCallsTitanOncePerInputInOrder) {
  FakeBedrock fake([](const ServerRequest& request, boost::beast::tcp_stream& stream) {
    auto body = nlohmann::json::parse(request.body());
    const std::string text = body["inputText"];
    const float first = text == "alpha" ? 0.25f : 0.75f;
    const std::string answer =
        nlohmann::json{{"embedding", {first, -0.5}}, {"inputTextTokenCount", text.size()}}.dump();
    return net::client_testing::WriteRaw(stream, JsonResponse(200, answer));
  });
  absl::StatusOr<EmbeddingResponse> result;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    BedrockProvider provider(Config(fake), clients, FakeEnv({}));
    EmbeddingRequest request;
    request.model = "amazon.titan-embed-text-v2:0";
    request.inputs = {"alpha", "be"};
    request.dimensions = 256;
    result = co_await provider.Embed(ctx_, request);
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->embeddings.size(), 2u);
  EXPECT_FLOAT_EQ(result->embeddings[0][0], 0.25f);
  EXPECT_FLOAT_EQ(result->embeddings[1][0], 0.75f);
  EXPECT_EQ(result->usage.input_tokens, 7);
  const std::vector<Seen> seen = fake.seen();
  ASSERT_EQ(seen.size(), 2u);
  for (const Seen& s : seen) {
    ExpectSigned(s);
    EXPECT_EQ(s.target, "/model/amazon.titan-embed-text-v2%3A0/invoke");
    EXPECT_EQ(nlohmann::json::parse(s.body)["dimensions"], 256);
  }
  EXPECT_EQ(nlohmann::json::parse(seen[0].body)["inputText"], "alpha");
}

TEST_F(BedrockProviderTest, EnvironmentCredentialsSignWhenTheConfigHasNone) {
  FakeBedrock fake(Answer(JsonResponse(200, kConverseAnswer)));
  absl::StatusOr<ChatResponse> result;
  absl::StatusOr<std::string> source;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    ProviderConfig config = Config(fake);
    config.access_key_id.clear();
    config.secret_access_key.clear();
    config.session_token.clear();
    config.region.clear();
    BedrockProvider provider(config, clients,
                             FakeEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                      {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                      {"AWS_REGION", "us-west-2"}}));
    source = provider.CredentialsSourceForTest();
    result = co_await provider.Chat(ctx_, Hello());
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*source, "environment");
  const std::vector<Seen> seen = fake.seen();
  ASSERT_EQ(seen.size(), 1u);
  ExpectSigned(seen[0]);
  EXPECT_EQ(seen[0].identity->access_key_id, "AKIDENV");
}

TEST_F(BedrockProviderTest, WithoutCredentialsCallsFailButConstructionDoesNot) {
  FakeBedrock fake(Answer(JsonResponse(200, kConverseAnswer)));
  absl::Status chat, invoke;
  Run([&](const net::ClientSet& clients) -> asio::awaitable<void> {
    ProviderConfig config = Config(fake);
    config.access_key_id.clear();
    config.secret_access_key.clear();
    config.session_token.clear();
    BedrockProvider provider(config, clients, FakeEnv({{"HOME", "/nonexistent-basalt-home"}}));
    chat = (co_await provider.Chat(ctx_, Hello())).status();
    std::string body = "{}";
    invoke = (co_await provider.InvokeModel(ctx_, kModel, std::move(body))).status();
  });
  for (const absl::Status& status : {chat, invoke}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(status.message()), HasSubstr("bedrock provider 'bedrock'"));
    EXPECT_THAT(std::string(status.message()), HasSubstr("AWS_ACCESS_KEY_ID"));
  }
  EXPECT_TRUE(fake.seen().empty());
}

TEST_F(BedrockProviderTest, EndpointRegionAndUnrenderableRequests) {
  asio::io_context unused;
  auto clients = net::ClientSet::Create({&unused}, HttpClientConfig{});
  ASSERT_TRUE(clients.ok());
  ProviderConfig config;
  config.name = "aws";
  config.region = "eu-west-1";
  BedrockProvider by_region(config, **clients, FakeEnv({}));
  EXPECT_EQ(by_region.endpoint(), "https://bedrock-runtime.eu-west-1.amazonaws.com");
  EXPECT_EQ(BedrockModelPath("arn:aws:bedrock:us-east-1:1:inference-profile/us.x", "converse"),
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse");

  FakeBedrock fake(Answer(JsonResponse(200, kConverseAnswer)));
  absl::Status no_region, image_url;
  absl::StatusOr<std::vector<ModelInfo>> models;
  Run([&](const net::ClientSet& set) -> asio::awaitable<void> {
    ProviderConfig c = Config(fake);
    c.region.clear();
    BedrockProvider regionless(c, set, FakeEnv({}));
    no_region = (co_await regionless.Chat(ctx_, Hello())).status();
    BedrockProvider provider(Config(fake), set, FakeEnv({}));
    ChatRequest request = Hello();
    ContentBlock image;
    image.type = ContentBlock::Type::kImage;
    image.image.url = "https://example.com/cat.png";
    request.messages[0].content.push_back(image);
    image_url = (co_await provider.Chat(ctx_, request)).status();
    models = co_await provider.ListModels(ctx_);
  });
  EXPECT_EQ(no_region.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(no_region.message()), HasSubstr("AWS_REGION"));
  EXPECT_EQ(image_url.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(models.ok());
  EXPECT_TRUE(models->empty());
  EXPECT_TRUE(fake.seen().empty());
}

}  // namespace
}  // namespace basalt::models
