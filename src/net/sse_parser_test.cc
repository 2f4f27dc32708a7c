#include "net/sse_parser.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace basalt::net {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Optional;

struct Parsed {
  std::vector<SseEvent> events;
  absl::Status status;
};

// Feeds `chunks` in order to a fresh parser, collecting events until the first error.
Parsed ParseChunks(const std::vector<std::string>& chunks, size_t max = size_t{1} << 20) {
  SseParser parser(max);
  Parsed out;
  for (const std::string& chunk : chunks) {
    out.status = parser.Feed(chunk, [&](SseEvent&& e) { out.events.push_back(std::move(e)); });
    if (!out.status.ok()) break;
  }
  return out;
}

Parsed ParseWhole(std::string_view text, size_t max = size_t{1} << 20) {
  return ParseChunks({std::string(text)}, max);
}

Parsed ParseBytewise(std::string_view text, size_t max = size_t{1} << 20) {
  std::vector<std::string> chunks;
  for (char c : text) chunks.emplace_back(1, c);
  return ParseChunks(chunks, max);
}

auto DataIs(std::string data) { return Field(&SseEvent::data, data); }

TEST(SseParserTest, SingleEvent) {
  Parsed p = ParseWhole("data: hello\n\n");
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "hello");
  EXPECT_EQ(p.events[0].event, "");  // default type "message" is left empty
  EXPECT_EQ(p.events[0].id, "");
  EXPECT_EQ(p.events[0].retry_ms, std::nullopt);
}

TEST(SseParserTest, LineEndingsCrLfAndCr) {
  for (std::string_view text : {"data: a\r\n\r\ndata: b\r\n\r\n", "data: a\r\rdata: b\r\r",
                                "data: a\n\ndata: b\r\n\r", "data: a\r\n\ndata: b\n\r\n"}) {
    Parsed p = ParseWhole(text);
    ASSERT_TRUE(p.status.ok()) << text;
    EXPECT_THAT(p.events, ElementsAre(DataIs("a"), DataIs("b"))) << text;
  }
}

TEST(SseParserTest, CrLfSplitAcrossFeeds) {
  // A CR ending one Feed and an LF starting the next are one line break, not two.
  Parsed p = ParseChunks({"data: a\r", "\n", "data: b\r", "\ndata: c\r", "", "\n\r", "\n"});
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "a\nb\nc");
}

TEST(SseParserTest, MultiLineDataJoinedWithNewline) {
  Parsed p = ParseWhole("data: first\ndata:second\ndata\ndata:  indented\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "first\nsecond\n\n indented");
}

TEST(SseParserTest, OnlyOneLeadingSpaceIsStripped) {
  Parsed p = ParseWhole("data:   x \n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "  x ");
}

TEST(SseParserTest, CommentsAndUnknownFieldsIgnored) {
  Parsed p = ParseWhole(": keep-alive\n:\nfoo: bar\ndata: x\nDATA: y\n\n: trailing\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "x");
}

TEST(SseParserTest, EmptyDataFieldDispatchesEmptyEvent) {
  Parsed p = ParseWhole("data\n\ndata:\n\n");
  EXPECT_THAT(p.events, ElementsAre(DataIs(""), DataIs("")));
}

TEST(SseParserTest, BlockWithoutDataIsNotDispatched) {
  Parsed p = ParseWhole("event: ping\n\nid: 7\n\ndata: x\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].event, "");  // the event name was reset by the first blank line
  EXPECT_EQ(p.events[0].id, "7");    // but the last event ID persists
}

TEST(SseParserTest, EventNameAndIdAndRetry) {
  Parsed p = ParseWhole(
      "event: delta\nid: 42\nretry: 3000\ndata: {}\n\n"
      "data: next\n\n"
      "id\nretry: 12x\nretry:\ndata: cleared\n\n");
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.events.size(), 3u);
  EXPECT_EQ(p.events[0].event, "delta");
  EXPECT_EQ(p.events[0].id, "42");
  EXPECT_THAT(p.events[0].retry_ms, Optional(3000));
  EXPECT_EQ(p.events[1].event, "");
  EXPECT_EQ(p.events[1].id, "42");
  EXPECT_EQ(p.events[1].retry_ms, std::nullopt);
  EXPECT_EQ(p.events[2].id, "");  // a bare `id` field resets the last event ID
  EXPECT_EQ(p.events[2].retry_ms, std::nullopt);
}

TEST(SseParserTest, IdContainingNulIsIgnored) {
  static constexpr char kText[] = "id: 1\n\nid: a\0b\ndata: x\n\n";
  const std::string text(kText, sizeof(kText) - 1);
  Parsed p = ParseWhole(text);
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].id, "1");
}

TEST(SseParserTest, RetryWithoutEventIsKeptForNextEvent) {
  Parsed p = ParseWhole("retry: 10\n\ndata: x\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_THAT(p.events[0].retry_ms, Optional(10));
}

TEST(SseParserTest, LeadingBomSkippedOnlyAtStreamStart) {
  Parsed p = ParseChunks({"\xEF\xBB",
                          "\xBF"
                          "data: a\n\n\xEF\xBB\xBF"
                          "data: b\n\n"});
  ASSERT_EQ(p.events.size(), 1u);  // the second BOM makes an unknown field name
  EXPECT_EQ(p.events[0].data, "a");
}

TEST(SseParserTest, IncompleteEventIsNotDispatched) {
  Parsed p = ParseWhole("data: a\n\ndata: b\n");
  EXPECT_THAT(p.events, ElementsAre(DataIs("a")));
  p = ParseWhole("data: a\n\ndata: b");
  EXPECT_THAT(p.events, ElementsAre(DataIs("a")));
}

TEST(SseParserTest, ByteByByteEqualsWhole) {
  const std::string text =
      "\xEF\xBB\xBF: comment\r\nevent: start\r\nid: 1\r\ndata: {\"a\":1}\r\n\r\n"
      "data: line1\rdata: line2\r\rretry: 250\ndata\n\n"
      "event: x\nfield-without-colon\ndata:  two spaces\n\n"
      "data: tail\r";
  Parsed whole = ParseWhole(text);
  Parsed bytewise = ParseBytewise(text);
  ASSERT_TRUE(whole.status.ok());
  ASSERT_TRUE(bytewise.status.ok());
  ASSERT_EQ(whole.events.size(), 4u);
  EXPECT_EQ(whole.events, bytewise.events);
  EXPECT_EQ(whole.events[1].data, "line1\nline2");
  EXPECT_THAT(whole.events[2].retry_ms, Optional(250));
  EXPECT_EQ(whole.events[3].data, " two spaces");
  EXPECT_EQ(whole.events[3].event, "x");
}

TEST(SseParserTest, EverySplitPointEqualsWhole) {
  const std::string text =
      "event: a\r\ndata: 1\r\n\r\nid: 9\rdata: 2\rdata: 3\r\r:c\n\ndata: 4\n\n";
  Parsed whole = ParseWhole(text);
  ASSERT_EQ(whole.events.size(), 3u);
  for (size_t i = 0; i <= text.size(); ++i) {
    for (size_t j = i; j <= text.size(); ++j) {
      Parsed split = ParseChunks({text.substr(0, i), text.substr(i, j - i), text.substr(j)});
      ASSERT_TRUE(split.status.ok());
      ASSERT_EQ(split.events, whole.events) << "split at " << i << "," << j;
    }
  }
}

TEST(SseParserTest, LineLargerThanLimitFails) {
  const std::string big = "data: " + std::string(100, 'x') + "\n\n";
  EXPECT_EQ(ParseWhole(big, 64).status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseBytewise(big, 64).status.code(), absl::StatusCode::kResourceExhausted);
  // An unterminated line is bounded too.
  EXPECT_EQ(ParseWhole(std::string(65, 'x'), 64).status.code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(ParseWhole(std::string(64, 'x'), 64).status.ok());
}

TEST(SseParserTest, EventLargerThanLimitFailsAndStaysFailed) {
  std::string text;
  for (int i = 0; i < 10; ++i) text += "data: 0123456789\n";
  SseParser parser(64);
  int events = 0;
  absl::Status s = parser.Feed(text, [&](SseEvent&&) { ++events; });
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(parser.Feed("\n", [&](SseEvent&&) { ++events; }).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(events, 0);
  parser.Reset();
  EXPECT_TRUE(parser.Feed("data: ok\n\n", [&](SseEvent&&) { ++events; }).ok());
  EXPECT_EQ(events, 1);
}

TEST(SseParserTest, ManySmallEventsWithinLimit) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "data: 0123456789\n\n";
  Parsed p = ParseWhole(text, 32);
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.events.size(), 1000u);
}

TEST(SseParserTest, LastEventIdAccessor) {
  SseParser parser;
  ASSERT_TRUE(parser.Feed("id: abc\ndata: x\n\n", [](SseEvent&&) {}).ok());
  EXPECT_EQ(parser.last_event_id(), "abc");
}

TEST(SseFormatTest, Simple) {
  EXPECT_EQ(FormatSseEvent("", "hello"), "data: hello\n\n");
  EXPECT_EQ(FormatSseEvent("delta", "{}", "7"), "event: delta\nid: 7\ndata: {}\n\n");
  EXPECT_EQ(FormatSseEvent("", ""), "data: \n\n");
}

TEST(SseFormatTest, SplitsDataOnNewlines) {
  EXPECT_EQ(FormatSseEvent("", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(FormatSseEvent("", "a\n"), "data: a\ndata: \n\n");
}

TEST(SseFormatTest, NewlinesInEventAndIdCannotInjectFields) {
  EXPECT_EQ(FormatSseEvent("a\ndata: x", "y", "1\r\nretry: 5"),
            "event: adata: x\nid: 1retry: 5\ndata: y\n\n");
}

TEST(SseFormatTest, RoundTripsThroughParser) {
  const std::vector<std::string> payloads = {"",          "x",  " leading space", "a\nb",
                                             "a\r\nb\rc", "\n", "trailing\n",     "{\"k\": \"v\"}"};
  for (const std::string& data : payloads) {
    Parsed p = ParseWhole(FormatSseEvent("evt", data, "id-1"));
    ASSERT_EQ(p.events.size(), 1u) << data;
    std::string expected = data;
    // The wire format normalises line breaks to LF.
    for (size_t pos; (pos = expected.find("\r\n")) != std::string::npos;) {
      expected.replace(pos, 2, "\n");
    }
    for (char& c : expected) {
      if (c == '\r') c = '\n';
    }
    EXPECT_EQ(p.events[0].data, expected);
    EXPECT_EQ(p.events[0].event, "evt");
    EXPECT_EQ(p.events[0].id, "id-1");
  }
}

TEST(SseParserTest, NoEventsForCommentOnlyStream) {
  EXPECT_THAT(ParseWhole(":\n:\n\n\n").events, IsEmpty());
}

}  // namespace
}  // namespace basalt::net
