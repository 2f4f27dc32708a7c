#include "net/router.h"

#include <gtest/gtest.h>

namespace basalt::net {
namespace {

Handler Noop() {
  return [](HttpRequest&) -> boost::asio::awaitable<absl::StatusOr<HttpResponse>> {
    co_return HttpResponse::Json(200, "{}");
  };
}

TEST(Router, LiteralAndParams) {
  Router r;
  r.Add("GET", "/healthz", Noop());
  r.Add("POST", "/model/{modelId}/converse", Noop());
  auto m = r.Match("POST", "/model/anthropic.claude%3Av1/converse");
  ASSERT_NE(m.route, nullptr);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "modelId");
  EXPECT_EQ(m.params[0].second, "anthropic.claude:v1");
  EXPECT_NE(r.Match("GET", "/healthz").route, nullptr);
  EXPECT_EQ(r.Match("GET", "/healthz/x").route, nullptr);
}

TEST(Router, MethodNotAllowedListsMethods) {
  Router r;
  r.Add("GET", "/v1/things/{id}", Noop());
  r.Add("DELETE", "/v1/things/{id}", Noop());
  auto m = r.Match("PUT", "/v1/things/1");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, DELETE");
  auto none = r.Match("PUT", "/v1/other");
  EXPECT_EQ(none.route, nullptr);
  EXPECT_TRUE(none.allow.empty());
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.Add("GET", "/healthz", Noop());
  EXPECT_NE(r.Match("HEAD", "/healthz").route, nullptr);
}

TEST(Router, RestParamTakesTheRemainder) {
  Router r;
  r.Add("GET", "/async-invoke/{arn+}", Noop());
  auto m = r.Match("GET", "/async-invoke/arn:aws:x/y/z");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params[0].first, "arn");
  EXPECT_EQ(m.params[0].second, "arn:aws:x/y/z");
}

TEST(Router, EmptyParamDoesNotMatchAndBadEscapeIsFlagged) {
  Router r;
  r.Add("GET", "/v1/things/{id}", Noop());
  EXPECT_EQ(r.Match("GET", "/v1/things/").route, nullptr);
  auto bad = r.Match("GET", "/v1/things/%zz");
  EXPECT_EQ(bad.route, nullptr);
  EXPECT_TRUE(bad.bad_escape);
}

TEST(PercentDecode, Cases) {
  EXPECT_EQ(*PercentDecode("a%20b"), "a b");
  EXPECT_EQ(*PercentDecode("%2F"), "/");
  EXPECT_FALSE(PercentDecode("%2").has_value());
  EXPECT_FALSE(PercentDecode("%").has_value());
  EXPECT_FALSE(PercentDecode("%g0").has_value());
}

TEST(HttpRequest, QueryParams) {
  RawRequest raw;
  HttpRequest req(raw);
  req.query = "a=1&b=x%20y&c&d=p+q";
  EXPECT_EQ(*req.QueryParam("a"), "1");
  EXPECT_EQ(*req.QueryParam("b"), "x y");
  EXPECT_EQ(*req.QueryParam("c"), "");
  EXPECT_EQ(*req.QueryParam("d"), "p q");
  EXPECT_FALSE(req.QueryParam("e").has_value());
}

}  // namespace
}  // namespace basalt::net
