#include "rag/filter/attribute_columns.h"

#include <algorithm>
#include <variant>

namespace basalt::rag {

using Op = RetrievalFilter::Op;

uint32_t AttributeColumns::Intern(const std::string& s) {
  auto [it, added] = string_ids_.try_emplace(s, static_cast<uint32_t>(strings_.size()));
  if (added) strings_.push_back(s);
  return it->second;
}

uint32_t AttributeColumns::IdOf(std::string_view s) const {
  auto it = string_ids_.find(absl::string_view(s.data(), s.size()));
  return it == string_ids_.end() ? kNoString : it->second;
}

void AttributeColumns::DropList(Column& c, size_t slot) {
  c.garbage += 1 + c.lists[c.string[slot]];
  if (c.garbage * 2 <= c.lists.size() || c.lists.size() < 4096) return;
  // Rebuild the pool from the live lists (this slot's is already gone).
  std::vector<uint32_t> pool;
  pool.reserve(c.lists.size() - c.garbage);
  for (size_t i = 0; i < c.type.size(); ++i) {
    if (c.type[i] != kList || i == slot) continue;
    std::span<const uint32_t> ids = c.ListAt(i);
    c.string[i] = static_cast<uint32_t>(pool.size());
    pool.push_back(static_cast<uint32_t>(ids.size()));
    pool.insert(pool.end(), ids.begin(), ids.end());
  }
  c.lists = std::move(pool);
  c.garbage = 0;
}

void AttributeColumns::Clear(uint32_t slot) {
  if (slot >= slot_keys_.size()) return;
  for (uint32_t key : slot_keys_[slot]) {
    Column& c = columns_[key];
    if (c.type[slot] == kList) DropList(c, slot);
    c.type[slot] = kMissing;
  }
  slot_keys_[slot].clear();
}

void AttributeColumns::Set(uint32_t slot, const Attributes& attributes) {
  Clear(slot);
  if (attributes.empty()) return;
  if (slot >= slot_keys_.size()) slot_keys_.resize(slot + 1);
  for (const auto& [key, value] : attributes) {
    auto [it, added] = key_ids_.try_emplace(key, static_cast<uint32_t>(columns_.size()));
    if (added) columns_.emplace_back();
    Column& c = columns_[it->second];
    if (c.type.size() <= slot) {
      const size_t size = std::max<size_t>(slot + 1, c.type.size() * 2);
      c.type.resize(size, kMissing);
      c.number.resize(size, 0);
      c.string.resize(size, 0);
    }
    if (const auto* s = std::get_if<std::string>(&value)) {
      c.type[slot] = kString;
      c.string[slot] = Intern(*s);
    } else if (const auto* d = std::get_if<double>(&value)) {
      c.type[slot] = kNumber;
      c.number[slot] = *d;
    } else if (const auto* b = std::get_if<bool>(&value)) {
      c.type[slot] = kBool;
      c.number[slot] = *b ? 1 : 0;
    } else {
      const auto& list = std::get<std::vector<std::string>>(value);
      c.type[slot] = kList;
      c.string[slot] = static_cast<uint32_t>(c.lists.size());
      c.lists.push_back(static_cast<uint32_t>(list.size()));
      for (const std::string& e : list) c.lists.push_back(Intern(e));
    }
    slot_keys_[slot].push_back(it->second);
  }
}

void AttributeColumns::Evaluate(const RetrievalFilter& filter, size_t slots,
                                std::vector<uint8_t>& out) const {
  out.assign(slots, 1);
  if (filter.nodes_.empty() || slots == 0) return;  // no condition
  EvalNode(filter, 0, slots, out.data());
}

void AttributeColumns::EvalNode(const RetrievalFilter& filter, int node, size_t slots,
                                uint8_t* out) const {
  const RetrievalFilter::Node& n = filter.nodes_[static_cast<size_t>(node)];
  if (n.op != Op::kAndAll && n.op != Op::kOrAll) {
    EvalLeaf(filter, node, slots, out);
    return;
  }
  EvalNode(filter, n.children.front(), slots, out);
  std::vector<uint8_t> other(slots);
  for (size_t c = 1; c < n.children.size(); ++c) {
    EvalNode(filter, n.children[c], slots, other.data());
    if (n.op == Op::kAndAll) {
      for (size_t i = 0; i < slots; ++i) out[i] &= other[i];
    } else {
      for (size_t i = 0; i < slots; ++i) out[i] |= other[i];
    }
  }
}

// A leaf's value, resolved against the interned strings once per query.
struct AttributeColumns::Leaf {
  // One value of equals / in.
  struct Value {
    Type type = kMissing;
    double number = 0;                 // kNumber, kBool (0/1)
    uint32_t string = kNoString;       // kString
    std::vector<uint32_t> list;        // kList
    bool known = true;                 // kList: every element was interned
  };
  std::vector<Value> values;
};

void AttributeColumns::EvalLeaf(const RetrievalFilter& filter, int node, size_t slots,
                                uint8_t* out) const {
  const RetrievalFilter::Node& n = filter.nodes_[static_cast<size_t>(node)];
  // A document without the key: true only for the negations.
  const uint8_t missing = n.op == Op::kNotEquals || n.op == Op::kNotIn;
  auto key = key_ids_.find(n.key);
  if (key == key_ids_.end()) {
    std::fill(out, out + slots, missing);
    return;
  }
  const Column& c = columns_[key->second];
  const size_t have = std::min(slots, c.type.size());
  std::fill(out + have, out + slots, missing);
  const uint8_t* type = c.type.data();

  auto resolve = [this](const AttributeValue& v) {
    Leaf::Value r;
    if (const auto* s = std::get_if<std::string>(&v)) {
      r.type = kString;
      r.string = IdOf(*s);
    } else if (const auto* d = std::get_if<double>(&v)) {
      r.type = kNumber;
      r.number = *d;
    } else if (const auto* b = std::get_if<bool>(&v)) {
      r.type = kBool;
      r.number = *b ? 1 : 0;
    } else {
      r.type = kList;
      for (const std::string& e : std::get<std::vector<std::string>>(v)) {
        const uint32_t id = IdOf(e);
        if (id == kNoString) r.known = false;
        r.list.push_back(id);
      }
    }
    return r;
  };
  // Whether slot i's value equals `v` (same type and value, as Matches).
  auto equals = [&](size_t i, const Leaf::Value& v) -> bool {
    if (type[i] != v.type) return false;
    switch (v.type) {
      case kString:
        return v.string != kNoString && c.string[i] == v.string;
      case kNumber:
      case kBool:
        return c.number[i] == v.number;
      case kList: {
        if (!v.known) return false;
        std::span<const uint32_t> ids = c.ListAt(i);
        return std::equal(ids.begin(), ids.end(), v.list.begin(), v.list.end());
      }
      default:
        return false;
    }
  };

  switch (n.op) {
    case Op::kEquals:
    case Op::kNotEquals: {
      const Leaf::Value v = resolve(n.value);
      const bool negate = n.op == Op::kNotEquals;
      if (v.type == kString) {
        const uint32_t* ids = c.string.data();
        for (size_t i = 0; i < have; ++i) {
          const bool eq = type[i] == kString && ids[i] == v.string && v.string != kNoString;
          out[i] = type[i] == kMissing ? missing : static_cast<uint8_t>(eq != negate);
        }
      } else if (v.type == kNumber || v.type == kBool) {
        const double* nums = c.number.data();
        for (size_t i = 0; i < have; ++i) {
          const bool eq = type[i] == v.type && nums[i] == v.number;
          out[i] = type[i] == kMissing ? missing : static_cast<uint8_t>(eq != negate);
        }
      } else {
        for (size_t i = 0; i < have; ++i) {
          out[i] = type[i] == kMissing ? missing : static_cast<uint8_t>(equals(i, v) != negate);
        }
      }
      return;
    }
    case Op::kGreaterThan:
    case Op::kGreaterThanOrEquals:
    case Op::kLessThan:
    case Op::kLessThanOrEquals: {
      const double bound = std::get<double>(n.value);
      const double* nums = c.number.data();
      for (size_t i = 0; i < have; ++i) {
        const double x = nums[i];
        bool pass;
        switch (n.op) {
          case Op::kGreaterThan: pass = x > bound; break;
          case Op::kGreaterThanOrEquals: pass = x >= bound; break;
          case Op::kLessThan: pass = x < bound; break;
          default: pass = x <= bound; break;
        }
        out[i] = type[i] == kNumber && pass;
      }
      return;
    }
    case Op::kIn:
    case Op::kNotIn: {
      std::vector<uint32_t> strings;
      std::vector<double> numbers;
      bool has_true = false, has_false = false;
      std::vector<Leaf::Value> lists;
      for (const AttributeValue& value : n.list) {
        Leaf::Value v = resolve(value);
        if (v.type == kString) {
          if (v.string != kNoString) strings.push_back(v.string);
        } else if (v.type == kNumber) {
          numbers.push_back(v.number);
        } else if (v.type == kBool) {
          (v.number != 0 ? has_true : has_false) = true;
        } else {
          lists.push_back(std::move(v));
        }
      }
      std::sort(strings.begin(), strings.end());
      std::sort(numbers.begin(), numbers.end());
      const bool negate = n.op == Op::kNotIn;
      for (size_t i = 0; i < have; ++i) {
        bool in = false;
        switch (type[i]) {
          case kMissing:
            out[i] = missing;
            continue;
          case kString:
            in = std::binary_search(strings.begin(), strings.end(), c.string[i]);
            break;
          case kNumber:
            in = std::binary_search(numbers.begin(), numbers.end(), c.number[i]);
            break;
          case kBool:
            in = c.number[i] != 0 ? has_true : has_false;
            break;
          default:
            in = std::any_of(lists.begin(), lists.end(),
                             [&](const Leaf::Value& v) { return equals(i, v); });
            break;
        }
        out[i] = in != negate;
      }
      return;
    }
    case Op::kStartsWith: {
      const std::string& prefix = std::get<std::string>(n.value);
      for (size_t i = 0; i < have; ++i) {
        out[i] = type[i] == kString &&
                 std::string_view(strings_[c.string[i]]).starts_with(prefix);
      }
      return;
    }
    case Op::kStringContains: {
      const std::string& needle = std::get<std::string>(n.value);
      auto holds = [&](uint32_t id) {
        return std::string_view(strings_[id]).find(needle) != std::string_view::npos;
      };
      for (size_t i = 0; i < have; ++i) {
        if (type[i] == kString) {
          out[i] = holds(c.string[i]);
        } else if (type[i] == kList) {
          std::span<const uint32_t> ids = c.ListAt(i);
          out[i] = std::any_of(ids.begin(), ids.end(), holds);
        } else {
          out[i] = 0;
        }
      }
      return;
    }
    case Op::kListContains: {
      const uint32_t wanted = IdOf(std::get<std::string>(n.value));
      for (size_t i = 0; i < have; ++i) {
        if (type[i] != kList || wanted == kNoString) {
          out[i] = 0;
          continue;
        }
        std::span<const uint32_t> ids = c.ListAt(i);
        out[i] = std::find(ids.begin(), ids.end(), wanted) != ids.end();
      }
      return;
    }
    case Op::kAndAll:
    case Op::kOrAll:
      return;  // EvalNode's
  }
}

}  // namespace basalt::rag
