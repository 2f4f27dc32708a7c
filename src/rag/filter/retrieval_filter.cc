#include "rag/filter/retrieval_filter.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "core/strings.h"

namespace basalt::rag {
namespace {

using json = nlohmann::json;
using Op = RetrievalFilter::Op;

struct OpName {
  std::string_view name;
  Op op;
};

constexpr std::array<OpName, 13> kOps = {{
    {"equals", Op::kEquals},
    {"notEquals", Op::kNotEquals},
    {"greaterThan", Op::kGreaterThan},
    {"greaterThanOrEquals", Op::kGreaterThanOrEquals},
    {"lessThan", Op::kLessThan},
    {"lessThanOrEquals", Op::kLessThanOrEquals},
    {"in", Op::kIn},
    {"notIn", Op::kNotIn},
    {"startsWith", Op::kStartsWith},
    {"listContains", Op::kListContains},
    {"stringContains", Op::kStringContains},
    {"andAll", Op::kAndAll},
    {"orAll", Op::kOrAll},
}};

constexpr std::string_view kOpList =
    "equals, notEquals, greaterThan, greaterThanOrEquals, lessThan, lessThanOrEquals, in, notIn, "
    "startsWith, listContains, stringContains, andAll, orAll";

std::optional<Op> FindOp(std::string_view name) {
  for (const OpName& entry : kOps) {
    if (entry.name == name) return entry.op;
  }
  return std::nullopt;
}

absl::Status Invalid(std::string_view path, std::string_view message) {
  return absl::InvalidArgumentError(StrCat(path, ": ", message));
}

bool IsNumber(const json& v) { return v.is_number(); }

// A JSON filter value as an attribute value, or nullopt when it has no such form.
std::optional<AttributeValue> ToValue(const json& v) {
  if (v.is_string()) return AttributeValue(v.get_ref<const std::string&>());
  if (v.is_boolean()) return AttributeValue(v.get<bool>());
  if (IsNumber(v)) return AttributeValue(v.get<double>());
  if (v.is_array()) {
    std::vector<std::string> list;
    list.reserve(v.size());
    for (const json& e : v) {
      if (!e.is_string()) return std::nullopt;
      list.push_back(e.get_ref<const std::string&>());
    }
    return AttributeValue(std::move(list));
  }
  return std::nullopt;
}

json ValueJson(const AttributeValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* b = std::get_if<bool>(&value)) return *b;
  return std::get<std::vector<std::string>>(value);
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

std::string_view FilterOpName(Op op) {
  for (const OpName& entry : kOps) {
    if (entry.op == op) return entry.name;
  }
  return "?";
}

// Builds nodes_ depth first, counting nodes and depth against the limits.
class RetrievalFilter::Compiler {
 public:
  explicit Compiler(std::vector<Node>* nodes) : nodes_(nodes) {}

  absl::StatusOr<int> Filter(const json& f, const std::string& path, int depth) {
    if (depth > kMaxDepth) {
      return Invalid(path, StrCat("filters nest deeper than ", kMaxDepth, " levels"));
    }
    if (!f.is_object()) return Invalid(path, "must be an object");
    for (auto it = f.begin(); it != f.end(); ++it) {
      if (!FindOp(it.key())) {
        return Invalid(StrCat(path, ".", it.key()),
                       StrCat("unknown operator; expected one of ", kOpList));
      }
    }
    if (f.size() != 1) {
      return Invalid(path, StrCat("must hold exactly one operator, got ", f.size()));
    }
    const auto item = f.begin();
    const Op op = *FindOp(item.key());
    const std::string op_path = StrCat(path, ".", item.key());
    if (++count_ > kMaxNodes) {
      return Invalid(op_path, StrCat("a filter may hold at most ", kMaxNodes, " filters"));
    }
    const int index = static_cast<int>(nodes_->size());
    nodes_->emplace_back();
    nodes_->back().op = op;
    if (op == Op::kAndAll || op == Op::kOrAll) {
      absl::StatusOr<std::vector<int>> members = Members(item.value(), op_path, depth);
      if (!members.ok()) return members.status();
      (*nodes_)[index].children = *std::move(members);
      return index;
    }
    absl::Status leaf = Leaf(item.value(), op_path, &(*nodes_)[index]);
    if (!leaf.ok()) return leaf;
    return index;
  }

 private:
  absl::StatusOr<std::vector<int>> Members(const json& list, const std::string& path, int depth) {
    if (!list.is_array()) return Invalid(path, "must be an array of filters");
    if (list.size() < kMinMembers || list.size() > kMaxMembers) {
      return Invalid(path, StrCat("must hold ", kMinMembers, " to ", kMaxMembers,
                                  " filters, got ", list.size()));
    }
    std::vector<int> children;
    for (size_t i = 0; i < list.size(); ++i) {
      absl::StatusOr<int> child = Filter(list[i], StrCat(path, "[", i, "]"), depth + 1);
      if (!child.ok()) return child.status();
      children.push_back(*child);
    }
    return children;
  }

  // Leaves are checked field by field; `node` is written only on success paths
  // (its vector may not move meanwhile: leaves add no nodes).
  absl::Status Leaf(const json& attr, const std::string& path, Node* node) {
    if (!attr.is_object()) return Invalid(path, "must be an object with key and value");
    for (auto it = attr.begin(); it != attr.end(); ++it) {
      if (it.key() != "key" && it.key() != "value") {
        return Invalid(StrCat(path, ".", it.key()), "unknown field; expected key and value");
      }
    }
    const auto key = attr.find("key");
    if (key == attr.end()) return Invalid(StrCat(path, ".key"), "is required");
    if (!key->is_string()) return Invalid(StrCat(path, ".key"), "must be a string");
    const std::string& key_text = key->get_ref<const std::string&>();
    if (key_text.empty() || key_text.size() > kMaxKeyBytes) {
      return Invalid(StrCat(path, ".key"), StrCat("must be 1 to ", kMaxKeyBytes, " bytes"));
    }
    const auto value = attr.find("value");
    const std::string value_path = StrCat(path, ".value");
    if (value == attr.end()) return Invalid(value_path, "is required");
    absl::Status checked = Value(*value, value_path, node);
    if (!checked.ok()) return checked;
    node->key = key_text;
    return absl::OkStatus();
  }

  absl::Status Value(const json& v, const std::string& path, Node* node) {
    switch (node->op) {
      case Op::kEquals:
      case Op::kNotEquals: {
        std::optional<AttributeValue> value = ToValue(v);
        if (!value) return Invalid(path, "must be a string, number, boolean or array of strings");
        node->value = *std::move(value);
        return absl::OkStatus();
      }
      case Op::kGreaterThan:
      case Op::kGreaterThanOrEquals:
      case Op::kLessThan:
      case Op::kLessThanOrEquals:
        if (!IsNumber(v)) return Invalid(path, "must be a number");
        node->value = v.get<double>();
        return absl::OkStatus();
      case Op::kIn:
      case Op::kNotIn:
        return List(v, path, node);
      case Op::kStartsWith:
      case Op::kListContains:
      case Op::kStringContains:
        if (!v.is_string()) return Invalid(path, "must be a string");
        node->value = v.get_ref<const std::string&>();
        return absl::OkStatus();
      case Op::kAndAll:
      case Op::kOrAll:
        break;
    }
    return Invalid(path, "not a leaf operator");
  }

  absl::Status List(const json& v, const std::string& path, Node* node) {
    if (!v.is_array()) return Invalid(path, "must be an array");
    if (v.size() > kMaxListValues) {
      return Invalid(path, StrCat("must hold at most ", kMaxListValues, " values, got ", v.size()));
    }
    node->list.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      std::optional<AttributeValue> value = ToValue(v[i]);
      if (!value) {
        return Invalid(StrCat(path, "[", i, "]"),
                       "must be a string, number, boolean or array of strings");
      }
      node->list.push_back(*std::move(value));
    }
    return absl::OkStatus();
  }

  std::vector<Node>* nodes_;
  int count_ = 0;
};

absl::StatusOr<RetrievalFilter> RetrievalFilter::Compile(const json& filter,
                                                         std::string_view path) {
  RetrievalFilter compiled;
  Compiler compiler(&compiled.nodes_);
  absl::StatusOr<int> root = compiler.Filter(filter, std::string(path), 1);
  if (!root.ok()) return root.status();
  return compiled;
}

bool RetrievalFilter::Matches(const Attributes& attributes) const {
  if (nodes_.empty()) return true;  // default-constructed: no condition
  return Eval(0, attributes);
}

bool RetrievalFilter::Eval(int index, const Attributes& attributes) const {
  const Node& node = nodes_[static_cast<size_t>(index)];
  switch (node.op) {
    case Op::kAndAll:
      return std::all_of(node.children.begin(), node.children.end(),
                         [&](int c) { return Eval(c, attributes); });
    case Op::kOrAll:
      return std::any_of(node.children.begin(), node.children.end(),
                         [&](int c) { return Eval(c, attributes); });
    default:
      break;
  }
  const auto found = attributes.find(node.key);
  const AttributeValue* attr = found == attributes.end() ? nullptr : &found->second;
  switch (node.op) {
    case Op::kEquals:
      return attr != nullptr && *attr == node.value;
    case Op::kNotEquals:
      return attr == nullptr || !(*attr == node.value);
    case Op::kGreaterThan:
    case Op::kGreaterThanOrEquals:
    case Op::kLessThan:
    case Op::kLessThanOrEquals: {
      const double* number = attr == nullptr ? nullptr : std::get_if<double>(attr);
      if (number == nullptr) return false;
      const double bound = std::get<double>(node.value);
      if (node.op == Op::kGreaterThan) return *number > bound;
      if (node.op == Op::kGreaterThanOrEquals) return *number >= bound;
      if (node.op == Op::kLessThan) return *number < bound;
      return *number <= bound;
    }
    case Op::kIn:
    case Op::kNotIn: {
      const bool in = attr != nullptr && std::any_of(node.list.begin(), node.list.end(),
                                                     [&](const AttributeValue& v) {
                                                       return *attr == v;
                                                     });
      return node.op == Op::kIn ? in : !in;
    }
    case Op::kStartsWith: {
      const std::string* s = attr == nullptr ? nullptr : std::get_if<std::string>(attr);
      return s != nullptr && std::string_view(*s).starts_with(std::get<std::string>(node.value));
    }
    case Op::kStringContains: {
      if (attr == nullptr) return false;
      const std::string& needle = std::get<std::string>(node.value);
      if (const auto* s = std::get_if<std::string>(attr)) return Contains(*s, needle);
      if (const auto* list = std::get_if<std::vector<std::string>>(attr)) {
        return std::any_of(list->begin(), list->end(),
                           [&](const std::string& e) { return Contains(e, needle); });
      }
      return false;
    }
    case Op::kListContains: {
      const auto* list =
          attr == nullptr ? nullptr : std::get_if<std::vector<std::string>>(attr);
      if (list == nullptr) return false;
      const std::string& wanted = std::get<std::string>(node.value);
      return std::find(list->begin(), list->end(), wanted) != list->end();
    }
    case Op::kAndAll:
    case Op::kOrAll:
      break;
  }
  return false;
}

json RetrievalFilter::NodeJson(int index) const {
  const Node& node = nodes_[static_cast<size_t>(index)];
  const std::string name(FilterOpName(node.op));
  if (node.op == Op::kAndAll || node.op == Op::kOrAll) {
    json members = json::array();
    for (int c : node.children) members.push_back(NodeJson(c));
    return json{{name, std::move(members)}};
  }
  json value;
  if (node.op == Op::kIn || node.op == Op::kNotIn) {
    value = json::array();
    for (const AttributeValue& v : node.list) value.push_back(ValueJson(v));
  } else {
    value = ValueJson(node.value);
  }
  return json{{name, json{{"key", node.key}, {"value", std::move(value)}}}};
}

json RetrievalFilter::ToJson() const {
  if (nodes_.empty()) return json::object();
  return NodeJson(0);
}

std::string RetrievalFilter::Describe() const {
  return ToJson().dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<std::string> RetrievalFilter::Keys() const {
  std::vector<std::string> keys;
  for (const Node& node : nodes_) {
    if (node.op != Op::kAndAll && node.op != Op::kOrAll) keys.push_back(node.key);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace basalt::rag
