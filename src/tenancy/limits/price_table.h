// PriceTable: what a model call costs, in integer micro-dollars.
//
// Entries come from configuration, in order; the first whose pattern matches
// the model name wins. A pattern is a glob where `*` matches any run of
// characters (including none) and every other character matches itself, case
// sensitively: "gpt-4o-mini*", "anthropic/*", "*". A final "*" entry is the
// default; without one an unknown model has no price (kNotFound).
//
// Prices are USD per million tokens as configured ($2.50 -> 2.5) and are held
// as integer micro-dollars per million tokens (2,500,000), rounded to the
// nearest micro-dollar per million once at load. A call then costs exactly
//   ceil(input_tokens * input_micros_per_million / 1e6)
//   + ceil(output_tokens * output_micros_per_million / 1e6)
// in integer arithmetic: each part is rounded up so no call is ever priced
// below its true cost.
//
// Thread-safety: immutable after Create(); safe to share across threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace basalt::limits {

struct ModelPrice {
  std::string model_pattern;
  double input_per_million_usd = 0;
  double output_per_million_usd = 0;
};

struct CallCost {
  int64_t input_micros = 0;
  int64_t output_micros = 0;
  int64_t total_micros() const { return input_micros + output_micros; }
};



class PriceTable {
 public:
  // Validates every entry: non-empty pattern, finite prices between 0 and
  // $1,000,000 per million tokens. kInvalidArgument naming the entry index.
  static absl::StatusOr<PriceTable> Create(const std::vector<ModelPrice>& entries);

  // An empty table: every model is unpriced.
  PriceTable() = default;

  // The cost of one call. kNotFound when no entry matches `model`;
  // kInvalidArgument for negative token counts; kOutOfRange if the cost does
  // not fit in int64 micro-dollars.
  absl::StatusOr<CallCost> Cost(std::string_view model, int64_t input_tokens,
                                int64_t output_tokens) const;

  // The matching entry's prices in micro-dollars per million tokens, or
  // kNotFound.
  struct Rates {
    int64_t input_micros_per_million = 0;
    int64_t output_micros_per_million = 0;
  };
  absl::StatusOr<Rates> RatesFor(std::string_view model) const;

  // ceil(tokens * micros_per_million / 1e6), or -1 when it overflows int64.
  static int64_t CostOf(int64_t tokens, int64_t micros_per_million);

 private:
  struct Entry {
    std::string pattern;
    bool exact;  // no `*`: compared directly
    Rates rates;
  };
  std::vector<Entry> entries_;
};

}  // namespace basalt::limits
