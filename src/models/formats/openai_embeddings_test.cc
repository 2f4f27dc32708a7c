#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/formats/openai_format.h"

namespace basalt::models::openai {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(OpenAIEmbeddings, ParsesStringAndArrayInputs) {
  absl::StatusOr<EmbeddingCall> one = ParseEmbeddingRequest(
      json::parse(R"({"model": "text-embedding-3-small", "input": "The food was delicious"})"));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->request.model, "text-embedding-3-small");
  EXPECT_EQ(one->request.inputs, std::vector<std::string>{"The food was delicious"});
  EXPECT_EQ(one->encoding, EmbeddingEncoding::kFloat);
  EXPECT_FALSE(one->request.dimensions.has_value());

  absl::StatusOr<EmbeddingCall> many = ParseEmbeddingRequest(json::parse(
      R"({"model": "m", "input": ["a", "b"], "dimensions": 256, "encoding_format": "base64"})"));
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_EQ(many->request.inputs, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(many->request.dimensions, 256);
  EXPECT_EQ(many->encoding, EmbeddingEncoding::kBase64);
}

TEST(OpenAIEmbeddings, ValidationErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"model": "m", "input": [1212, 318]})", "input: token-array inputs are not supported"},
      {R"({"model": "m", "input": [[1212, 318]]})", "input: token-array inputs are not supported"},
      {R"({"model": "m"})", "input: is required"},
      {R"({"input": "x"})", "model: is required"},
      {R"({"model": "m", "input": []})", "input: must not be empty"},
      {R"({"model": "m", "input": ["a", {}]})", "input[1]: must be a string, got object"},
      {R"({"model": "m", "input": "x", "dimensions": 0})", "dimensions: must be >= 1"},
      {R"({"model": "m", "input": "x", "encoding_format": "hex"})",
       "encoding_format: unknown value 'hex'"},
  };
  for (const auto& [body, error] : cases) {
    absl::StatusOr<EmbeddingCall> r = ParseEmbeddingRequest(json::parse(body));
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(error)) << body;
  }
}

TEST(OpenAIEmbeddings, RenderedResponseParsesBackInBothEncodings) {
  EmbeddingResponse response;
  response.model = "basalt-embed";
  response.embeddings = {{0.25f, -1.5f, 3.0e-8f}, {1.0f, 0.0f, -0.0f}};
  response.usage.input_tokens = 7;
  for (EmbeddingEncoding encoding : {EmbeddingEncoding::kFloat, EmbeddingEncoding::kBase64}) {
    json body = RenderEmbeddingResponse(response, encoding);
    EXPECT_EQ(body["object"], "list");
    EXPECT_EQ(body["data"][1]["object"], "embedding");
    EXPECT_EQ(body["data"][1]["index"], 1);
    EXPECT_EQ(body["usage"], json({{"prompt_tokens", 7}, {"total_tokens", 7}}));
    EXPECT_EQ(body["data"][0]["embedding"].is_string(), encoding == EmbeddingEncoding::kBase64);
    absl::StatusOr<EmbeddingResponse> back = ParseEmbeddingResponse(body);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->model, "basalt-embed");
    EXPECT_EQ(back->embeddings, response.embeddings);
    EXPECT_EQ(back->usage.input_tokens, 7);
  }
}

TEST(OpenAIEmbeddings, Base64IsLittleEndianFloat32) {
  EmbeddingResponse response;
  response.embeddings = {{1.0f}};
  // 1.0f is 0x3F800000: bytes 00 00 80 3F.
  EXPECT_EQ(RenderEmbeddingResponse(response, EmbeddingEncoding::kBase64)["data"][0]["embedding"],
            "AACAPw==");
}

TEST(OpenAIEmbeddings, UpstreamAnswerIsOrderedByIndex) {
  absl::StatusOr<EmbeddingResponse> r = ParseEmbeddingResponse(json::parse(R"({
    "object": "list", "model": "text-embedding-3-small",
    "data": [{"object": "embedding", "index": 1, "embedding": [2.0]},
             {"object": "embedding", "index": 0, "embedding": [1.0]}],
    "usage": {"prompt_tokens": 8, "total_tokens": 8}})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->embeddings, (std::vector<std::vector<float>>{{1.0f}, {2.0f}}));

  absl::StatusOr<EmbeddingResponse> bad =
      ParseEmbeddingResponse(json::parse(R"({"data": [{"index": 0, "embedding": "%%%"}]})"));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
}

TEST(OpenAIEmbeddings, RequestBodyForUpstream) {
  EmbeddingRequest request{"text-embedding-3-large", {"x"}, 1024};
  EXPECT_EQ(RenderEmbeddingRequest(request), json({{"model", "text-embedding-3-large"},
                                                   {"input", {"x"}},
                                                   {"encoding_format", "float"},
                                                   {"dimensions", 1024}}));
}

TEST(OpenAIModels, ListRendersAndParses) {
  json body =
      RenderModelList({{"basalt-chat", "builtin", ""}, {"gpt-4o", "openai", "openai"}}, 1700000000);
  EXPECT_EQ(body, json::parse(R"({"object": "list", "data": [
    {"id": "basalt-chat", "object": "model", "created": 1700000000, "owned_by": "builtin"},
    {"id": "gpt-4o", "object": "model", "created": 1700000000, "owned_by": "openai"}]})"));
  absl::StatusOr<std::vector<ModelInfo>> models = ParseModelList(body);
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[1].id, "gpt-4o");
  EXPECT_EQ((*models)[1].owned_by, "openai");
}

}  // namespace
}  // namespace basalt::models::openai
