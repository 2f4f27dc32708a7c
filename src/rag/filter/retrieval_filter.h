// RetrievalFilter: Bedrock Knowledge Bases' metadata filter (the
// `RetrievalFilter` shape of bedrock-agent-runtime), compiled once and then
// evaluated against each chunk's document attributes.
//
// A filter is a JSON object holding exactly one operator:
//   {"equals": {"key": "k", "value": V}}   and likewise notEquals, greaterThan,
//   greaterThanOrEquals, lessThan, lessThanOrEquals, in, notIn, startsWith,
//   listContains, stringContains;
//   {"andAll": [F, F, ...]}  {"orAll": [F, F, ...]}   (2..5 member filters)
//
// Semantics over rag::Attributes (string, number, boolean, string list):
//   equals            the attribute exists with the same type and value; V is a
//                     string, number, boolean, or an array of strings (equal to a
//                     string list holding the same strings in the same order)
//   notEquals         NOT equals: also true when the document lacks the key
//   greaterThan...    V is a number; true only for a number attribute compared
//                     numerically (missing key or another type: false)
//   in                V is an array of values as for equals; true when the
//                     attribute equals one of them
//   notIn             NOT in: also true when the key is missing
//   startsWith        V is a string; the attribute is a string with that prefix
//                     (strings only, as in Bedrock: string lists never match)
//   stringContains    V is a string; a string attribute containing it, or a
//                     string list with an element containing it
//   listContains      V is a string; a string-list attribute with an element
//                     equal to it
//   andAll / orAll    all / any of the members
// String comparison is bytewise (case-sensitive), as in Bedrock.
//
// Limits keep untrusted filters bounded: keys of 1..100 bytes, 2..5 members per
// andAll/orAll, nesting depth kMaxDepth, kMaxNodes filter objects in total and
// kMaxListValues values in one in/notIn.
//
// Thread-safety: immutable after Compile; Matches may run on any number of
// threads at once. Matches never throws and never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "rag/types.h"

namespace basalt::rag {

class AttributeColumns;

class RetrievalFilter {
 public:
  static constexpr int kMaxDepth = 8;           // root = 1
  static constexpr int kMaxNodes = 100;         // filter objects, operators and leaves
  static constexpr size_t kMinMembers = 2;      // per andAll/orAll
  static constexpr size_t kMaxMembers = 5;
  static constexpr size_t kMaxKeyBytes = 100;
  static constexpr size_t kMaxListValues = 1000;  // per in/notIn

  enum class Op : uint8_t {
    kEquals,
    kNotEquals,
    kGreaterThan,
    kGreaterThanOrEquals,
    kLessThan,
    kLessThanOrEquals,
    kIn,
    kNotIn,
    kStartsWith,
    kListContains,
    kStringContains,
    kAndAll,
    kOrAll,
  };

  // Compiles a filter. Errors are kInvalidArgument naming the path under
  // `path`, e.g. "filter.andAll[1].equals.value: must be a string, number,
  // boolean or array of strings" or "filter: must hold exactly one operator".
  static absl::StatusOr<RetrievalFilter> Compile(const nlohmann::json& filter,
                                                 std::string_view path = "filter");

  // Whether a document with these attributes passes. (A default-constructed
  // filter, which Compile never returns, passes everything.)
  bool Matches(const Attributes& attributes) const;

  // The filter in Bedrock's JSON form; Compile(ToJson()) is an equal filter.
  // Numbers come back as JSON floating-point numbers.
  nlohmann::json ToJson() const;
  // ToJson() as compact text, for logs.
  std::string Describe() const;

  // The attribute keys the filter reads, sorted, without repeats.
  std::vector<std::string> Keys() const;

 private:
  friend class AttributeColumns;  // evaluates nodes_ column by column
  struct Node {
    Op op = Op::kEquals;
    std::string key;                   // leaves
    AttributeValue value;              // leaves other than in/notIn
    std::vector<AttributeValue> list;  // in/notIn
    std::vector<int> children;         // andAll/orAll: indices into nodes_
  };
  class Compiler;

  bool Eval(int node, const Attributes& attributes) const;
  nlohmann::json NodeJson(int node) const;

  // nodes_[0] is the root; children always have larger indices (built depth
  // first), so evaluation recursion is bounded by kMaxDepth.
  std::vector<Node> nodes_;
};

// The operator's Bedrock name ("equals", "andAll", ...).
std::string_view FilterOpName(RetrievalFilter::Op op);

}  // namespace basalt::rag
