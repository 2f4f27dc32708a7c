// MemoryStore: the in-memory fake of the Store port, for tests of code that
// uses a Store. It enforces the same validation and returns the same error codes
// as the SQLite adapter; store_contract_test.cc runs one suite against both to
// keep it honest. Nothing is persisted. Thread-safe: one mutex guards the map.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "store/store.h"

namespace basalt {

class MemoryStore final : public Store {
 public:
  // `clock` stamps created_ms / updated_ms and must outlive the store.
  explicit MemoryStore(const Clock& clock = RealClock::Instance()) : clock_(clock) {}

  absl::StatusOr<Record> Create(std::string_view tenant, std::string_view collection,
                                std::string_view id, std::string_view body) override;
  absl::StatusOr<Record> Get(std::string_view tenant, std::string_view collection,
                             std::string_view id) override;
  absl::StatusOr<Record> Update(std::string_view tenant, std::string_view collection,
                                std::string_view id, std::string_view body,
                                int64_t expected_version) override;
  absl::Status Delete(std::string_view tenant, std::string_view collection,
                      std::string_view id) override;
  absl::StatusOr<RecordPage> List(std::string_view tenant, std::string_view collection,
                                  const ListOptions& options) override;
  absl::StatusOr<int64_t> AdminCountAllTenants(std::string_view collection) override;
  absl::Status AdminDeleteTenant(std::string_view tenant) override;
  absl::Status Ping() override;
  int SchemaVersion() const override { return 0; }

  // Until called again with OkStatus(), every method fails with `status`, so
  // tests can drive a caller's handling of kUnavailable or kInternal.
  void InjectErrorForTest(absl::Status status);

 private:
  // (tenant, collection, id). std::map orders ids bytewise, as SQLite's BINARY
  // collation does, so List pages match the SQLite adapter's.
  using Key = std::tuple<std::string, std::string, std::string>;

  int64_t NowMs() const;

  const Clock& clock_;
  absl::Mutex mu_;
  std::map<Key, Record> records_ ABSL_GUARDED_BY(mu_);
  absl::Status injected_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt
