// BoundedLabels: Prometheus label values with bounded cardinality. The first
// `max_values` distinct values keep their own label; every later one maps to
// "other". Seed() at start-up with the top tenants by usage
// (UsageStore::TopTenants) so "the top N, then other" holds across restarts.
//
//   static BoundedLabels tenants(50);
//   requests.With({tenants.Label(ctx.tenant), status}).Inc();
//
// Thread-safety: thread-safe. Label() of a value already known, and of any
// value once the table is full, is lock-free (atomic loads over an
// open-addressed table that only grows); only admitting a new value takes a
// mutex. Returned views stay valid for the object's lifetime.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace basalt::limits {

class BoundedLabels {
 public:
  explicit BoundedLabels(size_t max_values = 50, std::string other = "other");
  ~BoundedLabels();
  BoundedLabels(const BoundedLabels&) = delete;
  BoundedLabels& operator=(const BoundedLabels&) = delete;

  // Admits `values` in order while there is room (values already admitted
  // keep their place; nothing is ever evicted).
  void Seed(const std::vector<std::string>& values);

  // `value` itself when it has (or now gets) its own label, else "other".
  std::string_view Label(std::string_view value);

  // Values with their own label.
  size_t size() const { return count_.load(std::memory_order_acquire); }

 private:
  // nullptr when `value` is not in the table.
  const std::string* Find(std::string_view value, size_t hash) const;
  std::string_view Admit(std::string_view value, size_t hash);

  const size_t max_values_;
  const std::string other_;
  const size_t mask_;  // table size - 1 (a power of two above 2 * max_values_)
  // Slots are written once, under mu_, and never cleared: a reader that sees
  // a non-null pointer sees a complete string (release/acquire).
  std::unique_ptr<std::atomic<const std::string*>[]> slots_;
  std::atomic<size_t> count_{0};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<std::string>> owned_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::limits
