// Structure of event patterns: exact values, arrays, nesting, AND, $or. Cases
// follow the examples in the aws/event-ruler README.
#include "bus/rules/event_pattern.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace basalt::bus {
namespace {

using nlohmann::json;

// The README's sample EC2 event.
const json& SampleEvent() {
  static const json kEvent = json::parse(R"({
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
      "c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
      "instance-id": "i-000000aaaaaa00000", "state": "running"
    }
  })");
  return kEvent;
}

EventPattern MustParse(std::string_view text) {
  absl::StatusOr<EventPattern> p = EventPattern::Parse(text);
  EXPECT_TRUE(p.ok()) << text << " -> " << p.status();
  if (!p.ok()) return *EventPattern::Parse("{}");
  return *std::move(p);
}

bool Match(std::string_view pattern, const json& event) {
  return MustParse(pattern).Matches(event);
}

TEST(EventPatternTest, ReadmeSimpleMatching) {
  EXPECT_TRUE(Match(R"({
    "detail-type": ["EC2 Instance State-change Notification"],
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {"state": ["initializing", "running"]}
  })",
                    SampleEvent()));
}

TEST(EventPatternTest, ExactStringMismatch) {
  EXPECT_FALSE(Match(R"({"source": ["aws.s3"]})", SampleEvent()));
  EXPECT_FALSE(Match(R"({"detail": {"state": ["Running"]}})", SampleEvent()));
}

TEST(EventPatternTest, EmptyPatternMatchesEverything) {
  EXPECT_TRUE(Match("{}", SampleEvent()));
  EXPECT_TRUE(Match("{}", json::object()));
}

TEST(EventPatternTest, AllFieldsAreAnded) {
  EXPECT_TRUE(Match(R"({"source": ["aws.ec2"], "region": ["us-east-1"]})", SampleEvent()));
  EXPECT_FALSE(Match(R"({"source": ["aws.ec2"], "region": ["eu-west-1"]})", SampleEvent()));
}

TEST(EventPatternTest, MissingFieldDoesNotMatch) {
  EXPECT_FALSE(Match(R"({"detail": {"nope": ["x"]}})", SampleEvent()));
  EXPECT_FALSE(Match(R"({"nope": {"deeper": ["x"]}})", SampleEvent()));
}

TEST(EventPatternTest, NumbersCompareNumerically) {
  const json event = {{"n", 300}, {"f", 301.8}};
  EXPECT_TRUE(Match(R"({"n": [3.0e2]})", event));
  EXPECT_TRUE(Match(R"({"n": [300.0]})", event));
  EXPECT_TRUE(Match(R"({"f": [3.018e2]})", event));
  EXPECT_FALSE(Match(R"({"n": [301]})", event));
  EXPECT_TRUE(Match(R"({"n": [300]})", json::parse(R"({"n": 3.0e2})")));
}

TEST(EventPatternTest, TypesDoNotCrossMatch) {
  const json event = {{"n", 300}, {"s", "300"}, {"b", true}, {"z", nullptr}};
  EXPECT_FALSE(Match(R"({"n": ["300"]})", event));
  EXPECT_FALSE(Match(R"({"s": [300]})", event));
  EXPECT_FALSE(Match(R"({"b": ["true"]})", event));
  EXPECT_FALSE(Match(R"({"z": ["null"]})", event));
}

TEST(EventPatternTest, BooleanAndNullValues) {
  const json event = {{"b", true}, {"z", nullptr}, {"e", ""}};
  EXPECT_TRUE(Match(R"({"b": [true]})", event));
  EXPECT_FALSE(Match(R"({"b": [false]})", event));
  EXPECT_TRUE(Match(R"({"z": [null]})", event));
  EXPECT_FALSE(Match(R"({"missing": [null]})", event));  // null is a value, not absence
  EXPECT_TRUE(Match(R"({"e": [""]})", event));           // "LastName is empty"
}

TEST(EventPatternTest, LargeIntegersCompareExactly) {
  const json event = json::parse(R"({"id": 9007199254740993})");
  EXPECT_TRUE(Match(R"({"id": [9007199254740993]})", event));
  EXPECT_FALSE(Match(R"({"id": [9007199254740992]})", event));
  EXPECT_TRUE(
      Match(R"({"u": [18446744073709551615]})", json::parse(R"({"u": 18446744073709551615})")));
}

TEST(EventPatternTest, EventArrayMatchesWhenAnyElementMatches) {
  const json event = {{"tags", {"a", "b", "c"}}};
  EXPECT_TRUE(Match(R"({"tags": ["c", "z"]})", event));
  EXPECT_FALSE(Match(R"({"tags": ["z"]})", event));
  EXPECT_TRUE(
      Match(R"({"tags": ["b"]})", json::parse(R"({"tags": [["a"], ["b"]]})")));  // nested arrays
}

TEST(EventPatternTest, ArrayOfObjectsIsCrushedIntoParent) {
  const json event = json::parse(R"({"employees": [
    {"firstName": "John", "lastName": "Doe"},
    {"firstName": "Anna", "lastName": "Smith"},
    {"firstName": "Peter", "lastName": "Jones"}]})");
  EXPECT_TRUE(Match(R"({"employees": {"firstName": ["Anna"]}})", event));
  EXPECT_TRUE(Match(R"({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}})", event));
}

TEST(EventPatternTest, ArrayConsistentMatching) {
  // Fields from different elements of one array never combine.
  const json event = json::parse(R"({"employees": [
    [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}],
    [{"firstName": "Peter", "lastName": "Jones"}]]})");
  EXPECT_FALSE(Match(R"({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}})", event));
  EXPECT_TRUE(Match(R"({"employees": {"firstName": ["Peter"], "lastName": ["Jones"]}})", event));
}

TEST(EventPatternTest, NestedObjectPatternAgainstScalarDoesNotMatch) {
  EXPECT_FALSE(Match(R"({"source": {"inner": ["aws.ec2"]}})", SampleEvent()));
}

TEST(EventPatternTest, OrNormal) {
  const std::string p = R"({"source": ["aws.cloudwatch"], "$or": [
    {"metricName": ["CPUUtilization", "ReadLatency"]},
    {"namespace": ["AWS/EC2", "AWS/ES"]}]})";
  EXPECT_TRUE(Match(p, {{"source", "aws.cloudwatch"}, {"metricName", "ReadLatency"}}));
  EXPECT_TRUE(Match(p, {{"source", "aws.cloudwatch"}, {"namespace", "AWS/ES"}}));
  EXPECT_FALSE(Match(p, {{"source", "aws.cloudwatch"}, {"namespace", "AWS/S3"}}));
  EXPECT_FALSE(Match(p, {{"source", "aws.ec2"}, {"metricName", "ReadLatency"}}));
}

TEST(EventPatternTest, OrParallelInNestedObject) {
  const std::string p = R"({
    "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
    "detail": {"$or": [{"source": ["aws.cloudwatch"]},
                       {"detail-type": ["CloudWatch Alarm State Change"]}]}})";
  EXPECT_TRUE(Match(p, json::parse(R"({"namespace": "AWS/EC2",
      "detail": {"detail-type": "CloudWatch Alarm State Change"}})")));
  EXPECT_FALSE(Match(p, json::parse(R"({"namespace": "AWS/EC2", "detail": {"source": "x"}})")));
}

TEST(EventPatternTest, OrNestedWithAnd) {
  const std::string p = R"({"source": ["aws.cloudwatch"], "$or": [
    {"metricName": ["CPUUtilization", "ReadLatency"]},
    {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"],
     "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
    {"scope": ["Service"]}]})";
  const json base = {
      {"source", "aws.cloudwatch"}, {"metricType", "MetricType"}, {"namespace", "AWS/EC2"}};
  json with_space = base;
  with_space["spaceId"] = 1000;
  EXPECT_TRUE(Match(p, with_space));
  EXPECT_FALSE(Match(p, base));  // the inner $or is unmet
  EXPECT_TRUE(Match(p, {{"source", "aws.cloudwatch"}, {"scope", "Service"}}));
}

TEST(EventPatternTest, NonObjectEventNeverMatches) {
  const EventPattern p = MustParse("{}");
  EXPECT_FALSE(p.Matches(json::array()));
  EXPECT_FALSE(p.Matches(json("text")));
}

TEST(EventPatternTest, MatchesTextParsesEvent) {
  const EventPattern p = MustParse(R"({"source": ["aws.ec2"]})");
  EXPECT_TRUE(p.MatchesText(R"({"source": "aws.ec2"})"));
  EXPECT_FALSE(p.MatchesText(R"({"source": "aws.ec2")"));
  EXPECT_FALSE(p.MatchesText(""));
}

TEST(EventPatternTest, TextIsCanonical) {
  const EventPattern p = MustParse(R"({ "source" : [ "a" ], "detail": {"n": [1]} })");
  EXPECT_EQ(p.Text(), R"({"detail":{"n":[1]},"source":["a"]})");
  absl::StatusOr<EventPattern> again = EventPattern::Parse(p.Text());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Text(), p.Text());
}

TEST(EventPatternTest, FromJsonAndCopiesShareBehaviour) {
  absl::StatusOr<EventPattern> p = EventPattern::FromJson({{"source", {"aws.ec2"}}});
  ASSERT_TRUE(p.ok()) << p.status();
  const EventPattern copy = *p;
  EventPattern moved = std::move(*p);
  EXPECT_TRUE(copy.Matches(SampleEvent()));
  EXPECT_TRUE(moved.Matches(SampleEvent()));
  moved = copy;
  EXPECT_EQ(moved.Text(), copy.Text());
}

}  // namespace
}  // namespace basalt::bus
