#include "tenancy/limits/bounded_labels.h"

#include <bit>

#include "absl/hash/hash.h"
#include "core/strings.h"

namespace basalt::limits {
namespace {

size_t HashOf(std::string_view value) { return absl::Hash<absl::string_view>{}(ToAbsl(value)); }

}  // namespace

BoundedLabels::BoundedLabels(size_t max_values, std::string other)
    : max_values_(max_values),
      other_(std::move(other)),
      mask_(std::bit_ceil(2 * max_values + 2) - 1),
      slots_(std::make_unique<std::atomic<const std::string*>[]>(mask_ + 1)) {
  for (size_t i = 0; i <= mask_; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
}

BoundedLabels::~BoundedLabels() = default;

const std::string* BoundedLabels::Find(std::string_view value, size_t hash) const {
  // The table is never more than half full, so a probe always meets an empty
  // slot and stops.
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const std::string* s = slots_[i].load(std::memory_order_acquire);
    if (s == nullptr) return nullptr;
    if (*s == value) return s;
  }
}

std::string_view BoundedLabels::Label(std::string_view value) {
  const size_t hash = HashOf(value);
  if (const std::string* s = Find(value, hash)) return *s;
  if (count_.load(std::memory_order_acquire) >= max_values_) return other_;
  return Admit(value, hash);
}

std::string_view BoundedLabels::Admit(std::string_view value, size_t hash) {
  absl::MutexLock lock(&mu_);
  // Another thread may have admitted it, or filled the table, meanwhile.
  if (const std::string* s = Find(value, hash)) return *s;
  if (count_.load(std::memory_order_relaxed) >= max_values_) return other_;
  owned_.push_back(std::make_unique<std::string>(value));
  const std::string* s = owned_.back().get();
  size_t i = hash & mask_;
  while (slots_[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & mask_;
  slots_[i].store(s, std::memory_order_release);
  count_.fetch_add(1, std::memory_order_release);
  return *s;
}

void BoundedLabels::Seed(const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    if (size() >= max_values_) return;
    Label(v);
  }
}

}  // namespace basalt::limits
