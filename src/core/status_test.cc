#include "core/status.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace basalt {
namespace {

TEST(StatusTable, EveryCodeHasAShape) {
  for (int c = 0; c <= 16; ++c) {
    const auto shape = ShapeFor(static_cast<absl::StatusCode>(c));
    EXPECT_GE(shape.http_status, 200);
    if (c != 0) {
      EXPECT_FALSE(shape.openai_type.empty()) << c;
      EXPECT_FALSE(shape.aws_type.empty()) << c;
    }
  }
}

TEST(StatusTable, CommonMappings) {
  EXPECT_EQ(ShapeFor(absl::StatusCode::kInvalidArgument).http_status, 400);
  EXPECT_EQ(ShapeFor(absl::StatusCode::kInvalidArgument).aws_type, "ValidationException");
  EXPECT_EQ(ShapeFor(absl::StatusCode::kNotFound).http_status, 404);
  EXPECT_EQ(ShapeFor(absl::StatusCode::kResourceExhausted).http_status, 429);
  EXPECT_EQ(ShapeFor(absl::StatusCode::kResourceExhausted).openai_type, "rate_limit_error");
  EXPECT_EQ(ShapeFor(absl::StatusCode::kUnauthenticated).http_status, 401);
  EXPECT_EQ(ShapeFor(absl::StatusCode::kUnavailable).http_status, 503);
}

TEST(StatusTable, HttpOverrideTravelsWithTheStatus) {
  EXPECT_EQ(HttpStatusOf(PayloadTooLarge("big")), 413);
  EXPECT_EQ(HttpStatusOf(HeadersTooLarge("big")), 431);
  EXPECT_EQ(HttpStatusOf(MethodNotAllowed("no")), 405);
  EXPECT_EQ(HttpStatusOf(absl::NotFoundError("x")), 404);
  EXPECT_EQ(PayloadTooLarge("big").code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatusTable, EnvelopesAreValidJsonAndEscaped) {
  auto status = absl::InvalidArgumentError("model: \"x\"\nis\tunknown\x01");
  auto env = nlohmann::json::parse(ErrorEnvelopeJson(status, "req_1"));
  EXPECT_EQ(env["error"]["message"], "model: \"x\"\nis\tunknown\x01");
  EXPECT_EQ(env["error"]["type"], "invalid_request_error");
  EXPECT_EQ(env["error"]["code"], "invalid_argument");
  EXPECT_EQ(env["error"]["request_id"], "req_1");
  auto aws = nlohmann::json::parse(AwsErrorJson(status));
  EXPECT_EQ(aws["message"], "model: \"x\"\nis\tunknown\x01");
}

}  // namespace
}  // namespace basalt

namespace basalt {
namespace {

TEST(StatusTable, EnvelopeNamesTheParamAndACustomCode) {
  auto env = nlohmann::json::parse(
      ErrorEnvelopeJson(absl::InvalidArgumentError("messages[2].role: unknown role"), "r"));
  EXPECT_EQ(env["error"]["param"], "messages[2].role");
  EXPECT_EQ(env["error"]["code"], "invalid_argument");
  auto prose = nlohmann::json::parse(
      ErrorEnvelopeJson(absl::InvalidArgumentError("the body is not JSON: x"), "r"));
  EXPECT_FALSE(prose["error"].contains("param")) << "a sentence is not a field";
  auto coded = nlohmann::json::parse(ErrorEnvelopeJson(
      WithErrorCode(absl::AlreadyExistsError("client_token: reused"), "idempotency_conflict"), "r"));
  EXPECT_EQ(coded["error"]["code"], "idempotency_conflict");
  EXPECT_FALSE(coded["error"].contains("param"));
}

}  // namespace
}  // namespace basalt
