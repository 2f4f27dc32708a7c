#include "core/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace basalt::log {
namespace {

TEST(Log, FormatIsOneJsonObject) {
  const std::string line = Format(Level::kWarn, "disk \"slow\"",
                                  {{"request_id", "req_1"}, {"ms", int64_t{12}}, {"ok", false},
                                   {"ratio", 0.5}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "disk \"slow\"");
  EXPECT_EQ(j["request_id"], "req_1");
  EXPECT_EQ(j["ms"], 12);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["ratio"], 0.5);
  EXPECT_EQ(j["ts"].get<std::string>().size(), 24u);
}

TEST(Log, ParseLevel) {
  Level l;
  EXPECT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_FALSE(ParseLevel("verbose", &l));
}

}  // namespace
}  // namespace basalt::log
