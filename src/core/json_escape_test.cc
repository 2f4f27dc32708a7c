#include "core/json_escape.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace basalt {
namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  AppendJsonEscaped(out, s);
  return out + "\"";
}

TEST(JsonEscape, ControlAndQuotes) {
  EXPECT_EQ(Quote("a\"b\\c\n\t\x01"), R"("a\"b\\c\n\t\u0001")");
}

TEST(JsonEscape, ValidUtf8PassesThrough) {
  EXPECT_EQ(Quote("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"), "\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST(JsonEscape, InvalidUtf8BecomesReplacementAndStaysParseable) {
  for (std::string bad : {std::string("\xff\xfe{}"), std::string("\xc3"), std::string("\xc0\xaf"),
                          std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                          std::string("ok\xe2\x82")}) {
    const std::string json = Quote(bad);
    EXPECT_NO_THROW((void)nlohmann::json::parse(json)) << json;
    EXPECT_NE(json.find("\\ufffd"), std::string::npos) << json;
  }
}

}  // namespace
}  // namespace basalt
