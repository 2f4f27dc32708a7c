#include "tenancy/limits/price_table.h"

#include "core/strings.h"

#include <gtest/gtest.h>

#include <limits>

namespace basalt::limits {
namespace {

TEST(GlobMatchTest, Stars) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("gpt-4o*", "gpt-4o"));
  EXPECT_TRUE(GlobMatch("gpt-4o*", "gpt-4o-mini"));
  EXPECT_FALSE(GlobMatch("gpt-4o*", "gpt-4"));
  EXPECT_TRUE(GlobMatch("*/claude-*", "anthropic/claude-3-5-sonnet"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYYbd"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "Exact"));
  EXPECT_FALSE(GlobMatch("exact", "exact-2"));
  EXPECT_TRUE(GlobMatch("**a**", "bab"));
  // Many stars against a long near-miss stays fast (no exponential backtracking).
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(PriceTableTest, FirstMatchWinsAndDefault) {
  auto table = PriceTable::Create(
      {{"gpt-4o-mini*", 0.15, 0.60}, {"gpt-4o*", 2.50, 10.00}, {"*", 1.00, 2.00}});
  ASSERT_TRUE(table.ok()) << table.status();
  auto mini = table->Cost("gpt-4o-mini-2024-07-18", 1'000'000, 1'000'000);
  ASSERT_TRUE(mini.ok());
  EXPECT_EQ(mini->input_micros, 150'000);
  EXPECT_EQ(mini->output_micros, 600'000);
  EXPECT_EQ(mini->total_micros(), 750'000);
  auto big = table->Cost("gpt-4o", 1000, 500);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->input_micros, 2500);  // 1000 * 2.5 micro-USD
  EXPECT_EQ(big->output_micros, 5000);
  EXPECT_EQ(table->Cost("llama", 1'000'000, 0)->input_micros, 1'000'000);
}

TEST(PriceTableTest, RoundsEachPartUp) {
  auto table = PriceTable::Create({{"m", 0.15, 0.60}});
  ASSERT_TRUE(table.ok());
  // 1 token at $0.15/M = 0.15 micro-USD -> 1; 7 tokens = 1.05 -> 2; 0 -> 0.
  EXPECT_EQ(table->Cost("m", 1, 0)->input_micros, 1);
  EXPECT_EQ(table->Cost("m", 7, 0)->input_micros, 2);
  EXPECT_EQ(table->Cost("m", 0, 0)->total_micros(), 0);
  EXPECT_EQ(table->Cost("m", 20, 0)->input_micros, 3);  // exactly 3.00
  EXPECT_EQ(table->Cost("m", 0, 5)->output_micros, 3);  // exactly 3.00
  EXPECT_EQ(table->Cost("m", 0, 6)->output_micros, 4);  // 3.6 -> 4
  EXPECT_EQ(PriceTable::CostOf(3, 333'333), 1);         // 0.999999 -> 1
  EXPECT_EQ(PriceTable::CostOf(1'000'000, 333'333), 333'333);
  EXPECT_EQ(PriceTable::CostOf(1'000'001, 333'333), 333'334);
}

TEST(PriceTableTest, DecimalPricesBecomeExactMicros) {
  // 0.1 + 0.2 style binary fractions must not lose a micro-dollar.
  auto table = PriceTable::Create({{"m", 0.3, 1.1}});
  ASSERT_TRUE(table.ok());
  auto rates = table->RatesFor("m");
  ASSERT_TRUE(rates.ok());
  EXPECT_EQ(rates->input_micros_per_million, 300'000);
  EXPECT_EQ(rates->output_micros_per_million, 1'100'000);
}

TEST(PriceTableTest, UnknownModelWithoutDefault) {
  auto table = PriceTable::Create({{"gpt-*", 1, 1}});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->Cost("claude", 1, 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(PriceTable().Cost("x", 1, 1).status().code(), absl::StatusCode::kNotFound);
}

TEST(PriceTableTest, RejectsBadEntriesAndInputs) {
  EXPECT_EQ(PriceTable::Create({{"", 1, 1}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PriceTable::Create({{"m", -1, 1}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      PriceTable::Create({{"m", 1, std::numeric_limits<double>::quiet_NaN()}}).status().code(),
      absl::StatusCode::kInvalidArgument);
  auto status = PriceTable::Create({{"ok", 1, 1}, {"m", 1, 1e7}}).status();
  EXPECT_NE(std::string(status.message()).find("prices[1]"), std::string::npos) << status;
  auto table = PriceTable::Create({{"*", 1e6, 1e6}});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->Cost("m", -1, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table->Cost("m", INT64_MAX, 0).status().code(), absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace basalt::limits
