// One group of tests per operator, written from the event-ruler README and the
// EventBridge content-filtering examples.
#include <gtest/gtest.h>

#include <string>

#include "bus/rules/event_pattern.h"

namespace basalt::bus {
namespace {

using nlohmann::json;

bool Match(std::string_view pattern, const json& event) {
  absl::StatusOr<EventPattern> p = EventPattern::Parse(pattern);
  EXPECT_TRUE(p.ok()) << pattern << " -> " << p.status();
  return p.ok() && p->Matches(event);
}

const json kDetail = json::parse(R"({"time": "2017-10-02T16:24:49Z", "source": "aws.ec2",
  "detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
             "state": "running", "service": "EventBridge", "FileName": "cat.PNG",
             "FilePath": "/usr/lib/libc.so"}})");

TEST(PrefixTest, MatchesStringStart) {
  EXPECT_TRUE(Match(R"({"time": [{"prefix": "2017-10-02"}]})", kDetail));
  EXPECT_FALSE(Match(R"({"time": [{"prefix": "2017-10-03"}]})", kDetail));
  EXPECT_TRUE(Match(R"({"time": [{"prefix": ""}]})", kDetail));
}

TEST(PrefixTest, OnlyStrings) {
  EXPECT_FALSE(Match(R"({"detail": {"c-count": [{"prefix": "5"}]}})", kDetail));
}

TEST(PrefixTest, EqualsIgnoreCase) {
  EXPECT_TRUE(
      Match(R"({"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}})", kDetail));
  EXPECT_FALSE(Match(R"({"detail": {"service": [{"prefix": "eventb"}]}})", kDetail));
}

TEST(SuffixTest, MatchesStringEnd) {
  EXPECT_TRUE(Match(R"({"source": [{"suffix": "ec2"}]})", kDetail));
  EXPECT_FALSE(Match(R"({"source": [{"suffix": "s3"}]})", kDetail));
  EXPECT_FALSE(Match(R"({"detail": {"FileName": [{"suffix": ".png"}]}})", kDetail));
}

TEST(SuffixTest, EqualsIgnoreCase) {
  EXPECT_TRUE(
      Match(R"({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}})", kDetail));
  EXPECT_TRUE(Match(R"({"detail": {"service": [{"suffix": {"equals-ignore-case": "TBRIDGE"}}]}})",
                    kDetail));
}

TEST(EqualsIgnoreCaseTest, FoldsAsciiCase) {
  EXPECT_TRUE(Match(R"({"source": [{"equals-ignore-case": "AWS.EC2"}]})", kDetail));
  EXPECT_FALSE(Match(R"({"source": [{"equals-ignore-case": "AWS.EC"}]})", kDetail));
  EXPECT_FALSE(Match(R"({"detail": {"c-count": [{"equals-ignore-case": "5"}]}})", kDetail));
}

TEST(WildcardTest, ReadmeExample) {
  const std::string p = R"({"source": [{"wildcard": "Simple*Service"}]})";
  EXPECT_TRUE(Match(p, {{"source", "SimpleNotificationService"}}));
  EXPECT_TRUE(Match(p, {{"source", "SimpleService"}}));
  EXPECT_FALSE(Match(p, {{"source", "SimpleServices"}}));
}

TEST(WildcardTest, DirectoryAndExtension) {
  const std::string p = R"({"FileName": [{"wildcard": "dir/*.png"}]})";
  EXPECT_TRUE(Match(p, {{"FileName", "dir/a/b.png"}}));
  EXPECT_FALSE(Match(p, {{"FileName", "other/a.png"}}));
}

TEST(WildcardTest, EscapedStarIsLiteral) {
  const std::string p = R"({"v": [{"wildcard": "a\\*b*"}]})";
  EXPECT_TRUE(Match(p, {{"v", "a*bcd"}}));
  EXPECT_FALSE(Match(p, {{"v", "axbcd"}}));
}

TEST(AnythingButTest, SingleString) {
  const std::string p = R"({"detail": {"state": [{"anything-but": "initializing"}]}})";
  EXPECT_TRUE(Match(p, kDetail));
  EXPECT_FALSE(Match(p, {{"detail", {{"state", "initializing"}}}}));
  EXPECT_FALSE(Match(p, {{"detail", json::object()}}));  // needs a value to judge
}

TEST(AnythingButTest, SingleNumber) {
  EXPECT_TRUE(Match(R"({"detail": {"x-limit": [{"anything-but": 123}]}})", kDetail));
  EXPECT_FALSE(Match(R"({"detail": {"x-limit": [{"anything-but": 3.018e2}]}})", kDetail));
}

TEST(AnythingButTest, Lists) {
  EXPECT_TRUE(
      Match(R"({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}})", kDetail));
  EXPECT_FALSE(
      Match(R"({"detail": {"state": [{"anything-but": ["stopped", "running"]}]}})", kDetail));
  EXPECT_TRUE(Match(R"({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}})", kDetail));
  EXPECT_FALSE(Match(R"({"n": [{"anything-but": [100, 200, 300]}]})", {{"n", 200}}));
}

TEST(AnythingButTest, EventArrayNeedsOneAllowedValue) {
  const std::string p = R"({"s": [{"anything-but": "a"}]})";
  EXPECT_TRUE(Match(p, {{"s", {"a", "b"}}}));
  EXPECT_FALSE(Match(p, {{"s", {"a", "a"}}}));
}

TEST(AnythingButTest, PrefixAndSuffix) {
  EXPECT_FALSE(Match(R"({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}})", kDetail));
  EXPECT_TRUE(Match(R"({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}})", kDetail));
  EXPECT_TRUE(
      Match(R"({"FileName": [{"anything-but": {"suffix": ".png"}}]})", {{"FileName", "a.jpg"}}));
  EXPECT_FALSE(
      Match(R"({"FileName": [{"anything-but": {"suffix": ".png"}}]})", {{"FileName", "a.png"}}));
}

TEST(AnythingButTest, EqualsIgnoreCase) {
  const std::string p = R"({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]})";
  EXPECT_FALSE(Match(p, {{"state", "INITIALIZING"}}));
  EXPECT_TRUE(Match(p, {{"state", "running"}}));
  const std::string list = R"({"state": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]})";
  EXPECT_FALSE(Match(list, {{"state", "B"}}));
  EXPECT_TRUE(Match(list, {{"state", "c"}}));
}

TEST(AnythingButTest, Wildcard) {
  const std::string p = R"({"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}})";
  EXPECT_FALSE(Match(p, kDetail));
  EXPECT_TRUE(Match(p, {{"detail", {{"FilePath", "/usr/bin/ls"}}}}));
}

TEST(NumericTest, ReadmeRanges) {
  EXPECT_TRUE(Match(R"({"detail": {
    "c-count": [{"numeric": [">", 0, "<=", 5]}],
    "d-count": [{"numeric": ["<", 10]}],
    "x-limit": [{"numeric": ["=", 3.018e2]}]}})",
                    kDetail));
}

TEST(NumericTest, Bounds) {
  const std::string p = R"({"n": [{"numeric": [">", 0, "<=", 5]}]})";
  EXPECT_FALSE(Match(p, {{"n", 0}}));
  EXPECT_TRUE(Match(p, {{"n", 0.000001}}));
  EXPECT_TRUE(Match(p, {{"n", 5}}));
  EXPECT_FALSE(Match(p, {{"n", 5.0000001}}));
  EXPECT_TRUE(Match(R"({"n": [{"numeric": [">=", -1]}]})", {{"n", -1}}));
}

TEST(NumericTest, EqualsMatchesAnyNumberForm) {
  EXPECT_TRUE(Match(R"({"n": [{"numeric": ["=", 300]}]})", json::parse(R"({"n": 3.0e2})")));
  EXPECT_FALSE(Match(R"({"n": [{"numeric": ["=", 300]}]})", {{"n", 300.5}}));
}

TEST(NumericTest, OnlyJsonNumbers) {
  EXPECT_FALSE(Match(R"({"n": [{"numeric": [">", 0]}]})", {{"n", "5"}}));
  EXPECT_TRUE(Match(R"({"n": [{"numeric": [">", 0]}]})", json::parse(R"({"n": ["x", 7]})")));
}

TEST(ExistsTest, TrueNeedsALeafValue) {
  const std::string p = R"({"detail": {"c-count": [{"exists": true}]}})";
  EXPECT_TRUE(Match(p, kDetail));
  EXPECT_FALSE(Match(p, {{"detail", {{"other", 1}}}}));
  EXPECT_FALSE(Match(p, json::parse(R"({"detail": {"c-count": {"c1": 100}}})")));
  EXPECT_TRUE(Match(p, json::parse(R"({"detail": {"c-count": null}})")));
}

TEST(ExistsTest, FalseMatchesAbsentOrNonLeaf) {
  const std::string p = R"({"detail": {"c-count": [{"exists": false}]}})";
  EXPECT_FALSE(Match(p, kDetail));
  EXPECT_TRUE(Match(p, {{"detail", {{"state", "running"}}}}));
  EXPECT_TRUE(Match(p, {{"other", 1}}));  // no detail at all
  // The README: c-count holding an object is not a leaf, so it does not exist.
  EXPECT_TRUE(Match(p, json::parse(R"({"detail": {"c-count": {"c1": 100}}})")));
}

TEST(ExistsTest, Arrays) {
  const std::string yes = R"({"a": [{"exists": true}]})";
  const std::string no = R"({"a": [{"exists": false}]})";
  EXPECT_TRUE(Match(yes, json::parse(R"({"a": [1, 2]})")));
  EXPECT_FALSE(Match(no, json::parse(R"({"a": [1, 2]})")));
  // An empty array holds no value, so the field counts as absent.
  EXPECT_FALSE(Match(yes, json::parse(R"({"a": []})")));
  EXPECT_TRUE(Match(no, json::parse(R"({"a": []})")));
}

TEST(ExistsTest, CombinedWithValues) {
  const std::string p = R"({"a": ["x", {"exists": false}]})";
  EXPECT_TRUE(Match(p, {{"a", "x"}}));
  EXPECT_TRUE(Match(p, json::object()));
  EXPECT_FALSE(Match(p, {{"a", "y"}}));
}

TEST(CidrTest, Ipv4) {
  EXPECT_TRUE(Match(R"({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}})", kDetail));
  EXPECT_TRUE(Match(R"({"detail": {"source-ip": [{"cidr": "10.0.0.0/8"}]}})", kDetail));
  EXPECT_FALSE(Match(R"({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}})", kDetail));
  EXPECT_FALSE(Match(R"({"ip": [{"cidr": "10.0.0.0/8"}]})", {{"ip", "not an ip"}}));
}

TEST(CidrTest, Ipv6) {
  const std::string p = R"({"ip": [{"cidr": "2001:db8::/32"}]})";
  EXPECT_TRUE(Match(p, {{"ip", "2001:db8:1::7"}}));
  EXPECT_FALSE(Match(p, {{"ip", "2001:db9::1"}}));
  EXPECT_FALSE(Match(p, {{"ip", "10.0.0.1"}}));
}

TEST(CombinedTest, ReadmeComplexExample) {
  EXPECT_TRUE(Match(R"({
    "time": [{"prefix": "2017-10-02"}],
    "detail": {
      "state": [{"anything-but": "initializing"}],
      "c-count": [{"numeric": [">", 0, "<=", 5]}],
      "d-count": [{"numeric": ["<", 10]}],
      "x-limit": [{"anything-but": [100, 200, 300]}],
      "source-ip": [{"cidr": "10.0.0.0/8"}]}})",
                    kDetail));
}

}  // namespace
}  // namespace basalt::bus
