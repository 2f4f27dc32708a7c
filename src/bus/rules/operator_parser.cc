// Compiles the elements of a pattern's leaf arrays: exact values and the
// operator objects ({"prefix": ...}, {"numeric": [...]}, ...).
#include <cmath>
#include <utility>

#include "bus/rules/pattern_tree.h"
#include "core/strings.h"

namespace basalt::bus::rules_internal {
namespace {

using nlohmann::json;

absl::Status OpError(std::string_view path, std::string_view op, std::string_view detail) {
  return absl::InvalidArgumentError(StrCat(path, ": ", op, ": ", detail));
}

// ASCII lower-casing: event-ruler folds full Unicode; we document ASCII only.
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsScalar(const json& v) {
  return v.is_string() || v.is_number() || v.is_boolean() || v.is_null();
}

ValueTest ExactTest(const json& v) {
  ValueTest t;
  t.kind = TestKind::kExact;
  t.exact = v;
  return t;
}

ValueTest StringTest(TestKind kind, std::string text, bool ignore_case) {
  ValueTest t;
  t.kind = kind;
  t.ignore_case = ignore_case;
  t.text = ignore_case ? Lower(text) : std::move(text);
  return t;
}

// {"prefix": "s"} or {"prefix": {"equals-ignore-case": "s"}}; same for suffix.
absl::StatusOr<ValueTest> ParseAffix(const json& operand, std::string_view path,
                                     std::string_view op, TestKind kind) {
  if (operand.is_string()) return StringTest(kind, operand.get<std::string>(), false);
  if (operand.is_object() && operand.size() == 1 && operand.begin().key() == "equals-ignore-case") {
    const json& inner = operand.begin().value();
    if (inner.is_string()) return StringTest(kind, inner.get<std::string>(), true);
    return OpError(path, StrCat(op, ": equals-ignore-case"),
                   StrCat("expected a string, got ", Describe(inner)));
  }
  return OpError(
      path, op,
      StrCat("expected a string or {\"equals-ignore-case\": string}, got ", Describe(operand)));
}

absl::StatusOr<ValueTest> ParseWildcard(const json& operand, std::string_view path,
                                        std::string_view op) {
  if (!operand.is_string()) {
    return OpError(path, op, StrCat("expected a string, got ", Describe(operand)));
  }
  absl::StatusOr<WildcardPattern> glob = WildcardPattern::Compile(operand.get<std::string>());
  if (!glob.ok()) return OpError(path, op, std::string(glob.status().message()));
  ValueTest t;
  t.kind = TestKind::kWildcard;
  t.wildcard = *std::move(glob);
  return t;
}

absl::StatusOr<LeafMatcher> ParseNumeric(const json& operand, std::string_view path) {
  constexpr std::string_view kOp = "numeric";
  if (!operand.is_array() || operand.empty()) {
    return OpError(path, kOp,
                   StrCat("expected an array like [\">\", 0, \"<=\", 5], got ", Describe(operand)));
  }
  if (operand.size() > 4) return OpError(path, kOp, "at most 2 comparisons are allowed");
  ValueTest t;
  t.kind = TestKind::kNumeric;
  bool has_low = false;
  bool has_high = false;
  bool has_equals = false;
  for (size_t i = 0; i < operand.size(); i += 2) {
    const json& op = operand[i];
    const std::string name = op.is_string() ? op.get<std::string>() : "";
    if (name != "<" && name != "<=" && name != ">" && name != ">=" && name != "=") {
      return OpError(path, kOp, StrCat("expected comparison operator, got ", Describe(op)));
    }
    if (i + 1 >= operand.size() || !operand[i + 1].is_number()) {
      return OpError(path, kOp,
                     StrCat("expected a number after \"", name, "\", got ",
                            i + 1 < operand.size() ? Describe(operand[i + 1]) : "nothing"));
    }
    const double value = operand[i + 1].get<double>();
    if (!std::isfinite(value)) return OpError(path, kOp, "number out of range");
    if (name == "=") {
      if (operand.size() != 2) return OpError(path, kOp, "\"=\" must be the only comparison");
      has_equals = true;
      t.range.low = t.range.high = value;
      t.range.low_inclusive = t.range.high_inclusive = true;
    } else if (name[0] == '>') {
      if (has_low) return OpError(path, kOp, "more than one lower bound");
      has_low = true;
      t.range.low = value;
      t.range.low_inclusive = name.size() == 2;
    } else {
      if (has_high) return OpError(path, kOp, "more than one upper bound");
      has_high = true;
      t.range.high = value;
      t.range.high_inclusive = name.size() == 2;
    }
  }
  if (!has_equals && has_low && has_high) {
    const NumericRange& r = t.range;
    const bool empty =
        r.low > r.high || (r.low == r.high && !(r.low_inclusive && r.high_inclusive));
    if (empty) {
      return OpError(path, kOp, "inconsistent range: lower bound is not below upper bound");
    }
  }
  return LeafMatcher{LeafKind::kTest, {std::move(t)}};
}

// A string, or a non-empty list of strings, each turned into a test by `make`.
template <class Make>
absl::Status StringOrList(const json& operand, std::string_view path, std::string_view op,
                          Make make, std::vector<ValueTest>* out) {
  if (operand.is_string()) {
    absl::StatusOr<ValueTest> t = make(operand);
    if (!t.ok()) return t.status();
    out->push_back(*std::move(t));
    return absl::OkStatus();
  }
  if (!operand.is_array() || operand.empty()) {
    return OpError(path, op,
                   StrCat("expected a string or a list of strings, got ", Describe(operand)));
  }
  for (const json& e : operand) {
    if (!e.is_string()) {
      return OpError(path, op, StrCat("expected a list of strings, got ", Describe(e)));
    }
    absl::StatusOr<ValueTest> t = make(e);
    if (!t.ok()) return t.status();
    out->push_back(*std::move(t));
  }
  return absl::OkStatus();
}

absl::StatusOr<LeafMatcher> ParseAnythingBut(const json& operand, std::string_view path) {
  constexpr std::string_view kOp = "anything-but";
  LeafMatcher m{LeafKind::kAnythingBut, {}};
  if (operand.is_string() || operand.is_number()) {
    m.tests.push_back(ExactTest(operand));
    return m;
  }
  if (operand.is_array()) {
    if (operand.empty()) return OpError(path, kOp, "list must not be empty");
    const bool strings = operand[0].is_string();
    for (const json& e : operand) {
      if (strings ? !e.is_string() : !e.is_number()) {
        return OpError(path, kOp, "list must hold only strings or only numbers");
      }
      m.tests.push_back(ExactTest(e));
    }
    return m;
  }
  if (!operand.is_object() || operand.size() != 1) {
    return OpError(
        path, kOp,
        StrCat("expected a string, a number, a list or one operator, got ", Describe(operand)));
  }
  const std::string& name = operand.begin().key();
  const json& inner = operand.begin().value();
  const std::string nested_op = StrCat(kOp, ": ", name);
  if (name == "prefix" || name == "suffix") {
    if (!inner.is_string()) {
      return OpError(path, nested_op, StrCat("expected a string, got ", Describe(inner)));
    }
    m.tests.push_back(StringTest(name == "prefix" ? TestKind::kPrefix : TestKind::kSuffix,
                                 inner.get<std::string>(), false));
    return m;
  }
  if (name == "equals-ignore-case") {
    auto make = [](const json& s) -> absl::StatusOr<ValueTest> {
      return StringTest(TestKind::kEqualsIgnoreCase, s.get<std::string>(), true);
    };
    if (absl::Status s = StringOrList(inner, path, nested_op, make, &m.tests); !s.ok()) return s;
    return m;
  }
  if (name == "wildcard") {
    auto make = [&](const json& s) { return ParseWildcard(s, path, nested_op); };
    if (absl::Status s = StringOrList(inner, path, nested_op, make, &m.tests); !s.ok()) return s;
    return m;
  }
  return OpError(path, kOp, StrCat("unsupported operator ", Describe(json(name))));
}

// True when `v` nests no deeper than `limit`; recursion stops at the limit.
bool ShallowerThan(const json& v, int limit) {
  if (!v.is_structured()) return true;
  if (limit == 0) return false;
  for (const json& e : v) {
    if (!ShallowerThan(e, limit - 1)) return false;
  }
  return true;
}

}  // namespace

std::string Describe(const json& value) {
  // dump() recurses once per level, so deeply nested junk is named, not printed.
  if (!ShallowerThan(value, 4)) return value.is_array() ? "a nested array" : "a nested object";
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 40) text = StrCat(text.substr(0, 37), "...");
  return text;
}

absl::StatusOr<LeafMatcher> ParseLeafElement(const json& element, std::string_view path) {
  if (IsScalar(element)) return LeafMatcher{LeafKind::kTest, {ExactTest(element)}};
  if (!element.is_object()) {
    return absl::InvalidArgumentError(
        StrCat(path,
               ": pattern array elements must be strings, numbers, booleans, null or "
               "operator objects, got ",
               Describe(element)));
  }
  if (element.size() != 1) {
    return absl::InvalidArgumentError(
        StrCat(path, ": an operator object must have exactly one key, got ", Describe(element)));
  }
  const std::string& op = element.begin().key();
  const json& operand = element.begin().value();
  if (op == "prefix" || op == "suffix") {
    absl::StatusOr<ValueTest> t =
        ParseAffix(operand, path, op, op == "prefix" ? TestKind::kPrefix : TestKind::kSuffix);
    if (!t.ok()) return t.status();
    return LeafMatcher{LeafKind::kTest, {*std::move(t)}};
  }
  if (op == "equals-ignore-case") {
    if (!operand.is_string()) {
      return OpError(path, op, StrCat("expected a string, got ", Describe(operand)));
    }
    return LeafMatcher{LeafKind::kTest,
                       {StringTest(TestKind::kEqualsIgnoreCase, operand.get<std::string>(), true)}};
  }
  if (op == "wildcard") {
    absl::StatusOr<ValueTest> t = ParseWildcard(operand, path, op);
    if (!t.ok()) return t.status();
    return LeafMatcher{LeafKind::kTest, {*std::move(t)}};
  }
  if (op == "anything-but") return ParseAnythingBut(operand, path);
  if (op == "numeric") return ParseNumeric(operand, path);
  if (op == "exists") {
    if (!operand.is_boolean()) {
      return OpError(path, op, StrCat("expected true or false, got ", Describe(operand)));
    }
    return LeafMatcher{operand.get<bool>() ? LeafKind::kExists : LeafKind::kAbsent, {}};
  }
  if (op == "cidr") {
    if (!operand.is_string()) {
      return OpError(path, op, StrCat("expected a string, got ", Describe(operand)));
    }
    absl::StatusOr<CidrBlock> block = CidrBlock::Parse(operand.get<std::string>());
    if (!block.ok()) return OpError(path, op, std::string(block.status().message()));
    ValueTest t;
    t.kind = TestKind::kCidr;
    t.cidr = *block;
    return LeafMatcher{LeafKind::kTest, {std::move(t)}};
  }
  return absl::InvalidArgumentError(StrCat(path, ": unknown operator ", Describe(json(op))));
}

}  // namespace basalt::bus::rules_internal
