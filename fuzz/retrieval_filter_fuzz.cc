// Fuzzer for Bedrock retrieval filters: the input is parsed as JSON (inputs over
// 64 KiB are skipped, so one run stays bounded), compiled, and matched against
// fixed attribute sets. A compiled filter must survive its own JSON round trip
// with the same verdicts, AttributeColumns must give Matches' verdicts, and an
// error must name something.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rag/filter/attribute_columns.h"
#include "rag/filter/retrieval_filter.h"

namespace {

using basalt::rag::Attributes;

const std::vector<Attributes>& Documents() {
  static const std::vector<Attributes> docs = {
      {},
      {{"animal", std::string("cat")}, {"year", 1995.0}, {"public", true}},
      {{"animal", std::string("dog")},
       {"tags", std::vector<std::string>{"pets", "outdoor"}},
       {"year", -0.5}},
      {{"k0", 0.0}, {"k1", std::string("")}, {"k2", false}, {"k3", std::vector<std::string>{}}},
  };
  return docs;
}

const basalt::rag::AttributeColumns& Columns() {
  static const basalt::rag::AttributeColumns columns = [] {
    basalt::rag::AttributeColumns c;
    for (size_t i = 0; i < Documents().size(); ++i) c.Set(static_cast<uint32_t>(i), Documents()[i]);
    return c;
  }();
  return columns;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return 0;
  absl::StatusOr<basalt::rag::RetrievalFilter> filter =
      basalt::rag::RetrievalFilter::Compile(parsed);
  if (!filter.ok()) {
    if (filter.status().message().empty()) std::abort();
    return 0;
  }
  absl::StatusOr<basalt::rag::RetrievalFilter> again =
      basalt::rag::RetrievalFilter::Compile(filter->ToJson());
  if (!again.ok() || again->Describe() != filter->Describe()) std::abort();
  std::vector<uint8_t> by_columns;
  Columns().Evaluate(*filter, Documents().size(), by_columns);
  for (size_t i = 0; i < Documents().size(); ++i) {
    const bool matches = filter->Matches(Documents()[i]);
    if (matches != again->Matches(Documents()[i])) std::abort();
    if (matches != (by_columns[i] != 0)) std::abort();
  }
  return 0;
}
