#include "tenancy/limits/price_table.h"

#include <cmath>

#include "core/strings.h"

namespace basalt::limits {

absl::StatusOr<PriceTable> PriceTable::Create(const std::vector<ModelPrice>& entries) {
  constexpr double kMaxUsdPerMillion = 1e6;
  PriceTable table;
  for (size_t i = 0; i < entries.size(); ++i) {
    const ModelPrice& e = entries[i];
    if (e.model_pattern.empty()) {
      return absl::InvalidArgumentError(StrCat("prices[", i, "].model: must not be empty"));
    }
    for (auto [name, usd] : {std::pair{"input_per_million_usd", e.input_per_million_usd},
                             std::pair{"output_per_million_usd", e.output_per_million_usd}}) {
      if (!std::isfinite(usd) || usd < 0 || usd > kMaxUsdPerMillion) {
        return absl::InvalidArgumentError(
            StrCat("prices[", i, "].", name, ": ", usd, " is not a price between 0 and 1000000"));
      }
    }
    table.entries_.push_back(Entry{e.model_pattern, e.model_pattern.find('*') == std::string::npos,
                                   Rates{std::llround(e.input_per_million_usd * 1e6),
                                         std::llround(e.output_per_million_usd * 1e6)}});
  }
  return table;
}

int64_t PriceTable::CostOf(int64_t tokens, int64_t micros_per_million) {
  const __int128 product = static_cast<__int128>(tokens) * micros_per_million;
  const __int128 cost = (product + 999'999) / 1'000'000;
  return cost > INT64_MAX ? -1 : static_cast<int64_t>(cost);
}

absl::StatusOr<PriceTable::Rates> PriceTable::RatesFor(std::string_view model) const {
  for (const Entry& e : entries_) {
    if (e.exact ? e.pattern == model : GlobMatch(e.pattern, model)) return e.rates;
  }
  return absl::NotFoundError(StrCat("no price configured for model ", model));
}

absl::StatusOr<CallCost> PriceTable::Cost(std::string_view model, int64_t input_tokens,
                                          int64_t output_tokens) const {
  if (input_tokens < 0 || output_tokens < 0) {
    return absl::InvalidArgumentError(StrCat("token counts must not be negative (input ",
                                             input_tokens, ", output ", output_tokens, ")"));
  }
  absl::StatusOr<Rates> rates = RatesFor(model);
  if (!rates.ok()) return rates.status();
  CallCost cost{CostOf(input_tokens, rates->input_micros_per_million),
                CostOf(output_tokens, rates->output_micros_per_million)};
  if (cost.input_micros < 0 || cost.output_micros < 0 ||
      cost.input_micros > INT64_MAX - cost.output_micros) {
    return absl::OutOfRangeError(
        StrCat("cost of ", input_tokens, "+", output_tokens, " tokens of ", model, " overflows"));
  }
  return cost;
}

}  // namespace basalt::limits
