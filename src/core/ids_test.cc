#include "core/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace basalt {
namespace {

TEST(Ids, PrefixLengthAndAlphabet) {
  const std::string id = NewId("req_");
  ASSERT_EQ(id.size(), 4u + 26u);
  EXPECT_EQ(id.substr(0, 4), "req_");
  EXPECT_GE(IdTimeMillis(id.substr(4)), 0);
}

TEST(Ids, EncodeTheClockAndSortByTime) {
  FakeClock clock;
  const std::string a = NewId("", clock);
  clock.Advance(std::chrono::milliseconds(5));
  const std::string b = NewId("", clock);
  EXPECT_LT(a, b);
  const auto expected = std::chrono::duration_cast<std::chrono::milliseconds>(
                            clock.Now().time_since_epoch()).count();
  EXPECT_EQ(IdTimeMillis(b), expected);
}

TEST(Ids, AreUniqueWithinOneMillisecond) {
  FakeClock clock;  // frozen: only randomness can tell them apart
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(NewId("", clock));
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(Ids, RejectsForeignText) {
  EXPECT_EQ(IdTimeMillis("short"), -1);
  EXPECT_EQ(IdTimeMillis("UUUUUUUUUUUUUUUUUUUUUUUUU!"), -1);
}

TEST(RequestIds, Validation) {
  EXPECT_TRUE(IsValidRequestId("abc-123_X.y:z"));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId("has space"));
  EXPECT_FALSE(IsValidRequestId("quote\""));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'a')));
}

}  // namespace
}  // namespace basalt
