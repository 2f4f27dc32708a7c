// Evaluates a compiled pattern against a JSON event. Only type-checked
// accessors of nlohmann::json are used, so nothing here can throw.
#include <cstdint>
#include <string>
#include <string_view>

#include "bus/rules/pattern_tree.h"

namespace basalt::bus::rules_internal {
namespace {

using nlohmann::json;

// Arrays nested deeper than this inside one event field are not looked into;
// it keeps recursion bounded on hostile events (`[[[[...]]]]`).
constexpr int kMaxArrayNesting = 32;

char FoldAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `lowered` is already lower-cased; `text` is folded as it is compared.
bool EqualsFolded(std::string_view text, std::string_view lowered) {
  if (text.size() != lowered.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (FoldAscii(text[i]) != lowered[i]) return false;
  }
  return true;
}

// Numbers compare by value (300 equals 3.0e2); two integers compare exactly so
// large ids beyond 2^53 do not collide.
bool NumbersEqual(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    if (a.is_number_unsigned() == b.is_number_unsigned()) {
      return a.is_number_unsigned() ? a.get<uint64_t>() == b.get<uint64_t>()
                                    : a.get<int64_t>() == b.get<int64_t>();
    }
    const json& u = a.is_number_unsigned() ? a : b;
    const json& s = a.is_number_unsigned() ? b : a;
    return s.get<int64_t>() >= 0 && static_cast<uint64_t>(s.get<int64_t>()) == u.get<uint64_t>();
  }
  return a.get<double>() == b.get<double>();
}

bool ScalarsEqual(const json& pattern, const json& value) {
  if (pattern.is_number() || value.is_number()) {
    return pattern.is_number() && value.is_number() && NumbersEqual(pattern, value);
  }
  if (pattern.is_string()) {
    return value.is_string() &&
           pattern.get_ref<const std::string&>() == value.get_ref<const std::string&>();
  }
  if (pattern.is_boolean()) return value.is_boolean() && pattern.get<bool>() == value.get<bool>();
  return pattern.is_null() && value.is_null();
}

bool Passes(const ValueTest& t, const json& value) {
  if (t.kind == TestKind::kExact) return ScalarsEqual(t.exact, value);
  if (t.kind == TestKind::kNumeric) {
    return value.is_number() && t.range.Contains(value.get<double>());
  }
  // Every other operator works on strings only, as event-ruler documents.
  if (!value.is_string()) return false;
  const std::string_view s = value.get_ref<const std::string&>();
  const std::string_view want = t.text;
  switch (t.kind) {
    case TestKind::kPrefix:
      if (s.size() < want.size()) return false;
      return t.ignore_case ? EqualsFolded(s.substr(0, want.size()), want) : s.starts_with(want);
    case TestKind::kSuffix:
      if (s.size() < want.size()) return false;
      return t.ignore_case ? EqualsFolded(s.substr(s.size() - want.size()), want)
                           : s.ends_with(want);
    case TestKind::kEqualsIgnoreCase:
      return EqualsFolded(s, want);
    case TestKind::kWildcard:
      return t.wildcard.Matches(s);
    case TestKind::kCidr:
      return t.cidr.Contains(s);
    case TestKind::kExact:
    case TestKind::kNumeric:
      break;
  }
  return false;
}

// Calls `pred` on each scalar value of an event field: the value itself, or
// the scalar elements of an array (nested arrays flattened). Objects are not
// values of this field: their members are other fields. Stops at the first
// value for which `pred` is true.
template <class Pred>
bool AnyValue(const json& v, const Pred& pred, int depth = 0) {
  if (v.is_array()) {
    if (depth >= kMaxArrayNesting) return false;
    for (const json& e : v) {
      if (AnyValue(e, pred, depth + 1)) return true;
    }
    return false;
  }
  if (v.is_string() || v.is_number() || v.is_boolean() || v.is_null()) return pred(v);
  return false;
}

bool HasValue(const json* v) {
  return v != nullptr && AnyValue(*v, [](const json&) { return true; });
}

bool MatchLeaf(const LeafMatcher& m, const json* v) {
  switch (m.kind) {
    case LeafKind::kExists:
      return HasValue(v);
    case LeafKind::kAbsent:
      return !HasValue(v);
    case LeafKind::kTest:
      return v != nullptr && AnyValue(*v, [&](const json& e) { return Passes(m.tests[0], e); });
    case LeafKind::kAnythingBut:
      // anything-but needs a value to judge: an absent field does not match.
      return v != nullptr && AnyValue(*v, [&](const json& e) {
               for (const ValueTest& t : m.tests) {
                 if (Passes(t, e)) return false;
               }
               return true;
             });
  }
  return false;
}

// A nested pattern against an event value. Arrays of objects match when one
// element matches the whole sub-pattern, which keeps fields of different
// elements from combining (event-ruler's array-consistent matching).
bool MatchNested(const ObjectPattern& p, const json& v, int depth, bool* saw_object) {
  if (v.is_object()) {
    *saw_object = true;
    return MatchObject(p, &v);
  }
  if (!v.is_array() || depth >= kMaxArrayNesting) return false;
  for (const json& e : v) {
    if (MatchNested(p, e, depth + 1, saw_object)) return true;
  }
  return false;
}

bool MatchField(const FieldPattern& f, const json* v) {
  if (f.nested != nullptr) {
    bool saw_object = false;
    if (v != nullptr && MatchNested(*f.nested, *v, 0, &saw_object)) return true;
    // No object here at all (absent, a scalar, or an array of scalars): the
    // sub-pattern's fields are all absent, which exists:false accepts.
    return !saw_object && MatchObject(*f.nested, nullptr);
  }
  for (const LeafMatcher& m : f.leaf) {
    if (MatchLeaf(m, v)) return true;
  }
  return false;
}

}  // namespace

bool MatchObject(const ObjectPattern& pattern, const json* event) {
  for (const FieldPattern& f : pattern.fields) {
    const json* v = nullptr;
    if (event != nullptr) {
      const auto it = event->find(f.name);
      if (it != event->end()) v = &*it;
    }
    if (!MatchField(f, v)) return false;
  }
  for (const std::vector<ObjectPattern>& group : pattern.any_of) {
    bool any = false;
    for (const ObjectPattern& alt : group) {
      if (MatchObject(alt, event)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace basalt::bus::rules_internal
