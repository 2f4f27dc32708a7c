#include "models/builtin/schema_filler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "models/builtin/utf8.h"

namespace basalt::models::builtin {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 32;
constexpr int64_t kMaxItems = 64;

const json* Member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &*it;
}

// Follows a local JSON pointer ("#/a/b"); nullptr when it does not resolve.
const json* Resolve(const json& root, const std::string& ref) {
  if (ref == "#") return &root;
  if (ref.rfind("#/", 0) != 0) return nullptr;
  const json* node = &root;
  size_t pos = 2;
  while (node != nullptr && pos <= ref.size()) {
    size_t slash = ref.find('/', pos);
    if (slash == std::string::npos) slash = ref.size();
    std::string token;
    for (size_t i = pos; i < slash; ++i) {
      if (ref[i] == '~' && i + 1 < slash && (ref[i + 1] == '0' || ref[i + 1] == '1')) {
        token.push_back(ref[++i] == '0' ? '~' : '/');
      } else {
        token.push_back(ref[i]);
      }
    }
    if (node->is_object()) {
      auto it = node->find(token);
      node = it == node->end() ? nullptr : &*it;
    } else if (node->is_array() && !token.empty() &&
               std::all_of(token.begin(), token.end(),
                           [](char c) { return c >= '0' && c <= '9'; }) &&
               token.size() < 10 && std::stoul(token) < node->size()) {
      node = &(*node)[std::stoul(token)];
    } else {
      node = nullptr;
    }
    pos = slash + 1;
  }
  return node;
}

std::string TypeOf(const json& schema) {
  if (const json* type = Member(schema, "type")) {
    if (type->is_string()) return type->get<std::string>();
    if (type->is_array()) {
      std::string first;
      for (const auto& t : *type) {
        if (!t.is_string()) continue;
        if (first.empty()) first = t.get<std::string>();
        if (t.get<std::string>() != "null") return t.get<std::string>();
      }
      if (!first.empty()) return first;
    }
  }
  if (Member(schema, "properties") != nullptr || Member(schema, "required") != nullptr) {
    return "object";
  }
  if (Member(schema, "items") != nullptr) return "array";
  return "string";
}

std::string StringFor(const json& schema, std::string_view text) {
  if (const json* format = Member(schema, "format"); format != nullptr && format->is_string()) {
    const std::string& f = format->get_ref<const std::string&>();
    if (f == "date-time") return "1970-01-01T00:00:00Z";
    if (f == "date") return "1970-01-01";
    if (f == "time") return "00:00:00Z";
    if (f == "email") return "user@example.com";
    if (f == "uri" || f == "url" || f == "uri-reference") return "https://example.com/";
    if (f == "uuid") return "00000000-0000-0000-0000-000000000000";
    if (f == "ipv4") return "127.0.0.1";
  }
  std::string value(text);
  if (const json* max = Member(schema, "maxLength"); max != nullptr && max->is_number()) {
    const double limit = std::max(0.0, max->get<double>());
    value = std::string(Utf8Prefix(value, static_cast<size_t>(std::min(limit, 1e9))));
  }
  if (const json* min = Member(schema, "minLength"); min != nullptr && min->is_number()) {
    const double want = std::min(min->get<double>(), 4096.0);
    for (size_t n = Utf8Length(value); static_cast<double>(n) < want; ++n) value.push_back('x');
  }
  return value;
}

// 0 moved inside the bounds; draft-4 boolean exclusiveMinimum/Maximum too.
json NumberFor(const json& schema, bool integer) {
  double lo = -HUGE_VAL, hi = HUGE_VAL;
  bool lo_ex = false, hi_ex = false;
  auto read = [&](std::string_view inclusive, std::string_view exclusive, double* bound,
                  bool* is_exclusive) {
    if (const json* b = Member(schema, inclusive); b != nullptr && b->is_number()) {
      *bound = b->get<double>();
    }
    if (const json* b = Member(schema, exclusive)) {
      if (b->is_boolean()) {
        *is_exclusive = b->get<bool>();
      } else if (b->is_number()) {
        *bound = b->get<double>();
        *is_exclusive = true;
      }
    }
  };
  read("minimum", "exclusiveMinimum", &lo, &lo_ex);
  read("maximum", "exclusiveMaximum", &hi, &hi_ex);
  double v = 0;
  if (integer) {
    const double lo_i = lo_ex ? std::floor(lo) + 1 : std::ceil(lo);
    const double hi_i = hi_ex ? std::ceil(hi) - 1 : std::floor(hi);
    v = std::max(lo_i, std::min(v, hi_i));
  } else {
    if (v < lo || (lo_ex && v <= lo)) v = lo_ex ? lo + 1 : lo;
    if (v > hi || (hi_ex && v >= hi)) v = hi_ex ? hi - 1 : hi;
    const bool below = v < lo || (lo_ex && v <= lo);
    if (below && std::isfinite(lo) && std::isfinite(hi)) v = lo + (hi - lo) / 2;
  }
  if (!std::isfinite(v) || std::abs(v) > 9e15) v = 0;
  if (integer) return static_cast<int64_t>(v);
  return v;
}

json Fill(const json& schema, const json& root, std::string_view text, int depth);

json MergeAllOf(const json& schema, const json& root) {
  json merged = json::object();
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    if (it.key() != "allOf") merged[it.key()] = it.value();
  }
  for (const auto& part : *Member(schema, "allOf")) {
    const json* sub = &part;
    if (const json* ref = Member(part, "$ref"); ref != nullptr && ref->is_string()) {
      sub = Resolve(root, ref->get<std::string>());
    }
    if (sub == nullptr || !sub->is_object()) continue;
    for (auto it = sub->begin(); it != sub->end(); ++it) {
      if (it.key() == "properties" && it.value().is_object()) {
        if (!merged["properties"].is_object()) merged["properties"] = json::object();
        merged["properties"].update(it.value());
      } else if (it.key() == "required" && it.value().is_array()) {
        if (!merged["required"].is_array()) merged["required"] = json::array();
        for (const auto& r : it.value()) merged["required"].push_back(r);
      } else if (!merged.contains(it.key())) {
        merged[it.key()] = it.value();
      }
    }
  }
  return merged;
}

json FillObject(const json& schema, const json& root, std::string_view text, int depth) {
  json out = json::object();
  const json* required = Member(schema, "required");
  if (required == nullptr || !required->is_array()) return out;
  const json* props = Member(schema, "properties");
  static const json kAnything = json::object();
  for (const auto& name : *required) {
    if (!name.is_string() || out.contains(name.get<std::string>())) continue;
    const json* prop = props != nullptr ? Member(*props, name.get<std::string>()) : nullptr;
    out[name.get<std::string>()] = Fill(prop != nullptr ? *prop : kAnything, root, text, depth + 1);
  }
  return out;
}

json FillArray(const json& schema, const json& root, std::string_view text, int depth) {
  json out = json::array();
  const json* min = Member(schema, "minItems");
  if (min == nullptr || !min->is_number()) return out;
  const double want = std::min(min->get<double>(), static_cast<double>(kMaxItems));
  const json* items = Member(schema, "items");
  const json* prefix = Member(schema, "prefixItems");
  static const json kAnything = json::object();
  for (size_t i = 0; static_cast<double>(i) < want; ++i) {
    const json* item = &kAnything;
    if (prefix != nullptr && prefix->is_array() && i < prefix->size()) {
      item = &(*prefix)[i];
    } else if (items != nullptr && items->is_array() && i < items->size()) {
      item = &(*items)[i];
    } else if (items != nullptr && items->is_object()) {
      item = items;
    }
    out.push_back(Fill(*item, root, text, depth + 1));
  }
  return out;
}

json Fill(const json& schema, const json& root, std::string_view text, int depth) {
  if (depth > kMaxDepth) return nullptr;
  if (!schema.is_object()) return std::string(text);  // `true` or malformed: anything goes
  if (const json* ref = Member(schema, "$ref"); ref != nullptr && ref->is_string()) {
    const json* target = Resolve(root, ref->get<std::string>());
    return Fill(target != nullptr ? *target : json::object(), root, text, depth + 1);
  }
  if (const json* c = Member(schema, "const")) return *c;
  if (const json* e = Member(schema, "enum"); e != nullptr && e->is_array() && !e->empty()) {
    return e->front();
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    const json* alts = Member(schema, key);
    if (alts == nullptr || !alts->is_array() || alts->empty()) continue;
    for (const auto& alt : *alts) {
      if (TypeOf(alt) != "null" || Member(alt, "$ref") != nullptr) {
        return Fill(alt, root, text, depth + 1);
      }
    }
    return Fill(alts->front(), root, text, depth + 1);
  }
  if (const json* all = Member(schema, "allOf"); all != nullptr && all->is_array()) {
    return Fill(MergeAllOf(schema, root), root, text, depth + 1);
  }
  const std::string type = TypeOf(schema);
  if (type == "object") return FillObject(schema, root, text, depth);
  if (type == "array") return FillArray(schema, root, text, depth);
  if (type == "integer") return NumberFor(schema, true);
  if (type == "number") return NumberFor(schema, false);
  if (type == "boolean") return false;
  if (type == "null") return nullptr;
  return StringFor(schema, text);
}

}  // namespace

nlohmann::json FillFromSchema(const nlohmann::json& schema, std::string_view text) {
  return Fill(schema, schema, text, 0);
}

}  // namespace basalt::models::builtin
