#include "store/memory/memory_store.h"

#include <chrono>
#include <tuple>
#include <utility>

#include "core/strings.h"
#include "store/validation.h"

namespace basalt {
namespace {

std::tuple<std::string, std::string, std::string> MakeKey(std::string_view tenant,
                                                          std::string_view collection,
                                                          std::string_view id) {
  return {std::string(tenant), std::string(collection), std::string(id)};
}

absl::Status NotFound(std::string_view collection, std::string_view id) {
  return absl::NotFoundError(StrCat("no record '", id, "' in collection '", collection, "'"));
}

}  // namespace

int64_t MemoryStore::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
      .count();
}

void MemoryStore::InjectErrorForTest(absl::Status status) {
  absl::MutexLock lock(&mu_);
  injected_ = std::move(status);
}

absl::StatusOr<Record> MemoryStore::Create(std::string_view tenant, std::string_view collection,
                                           std::string_view id, std::string_view body) {
  if (absl::Status s = ValidateRecordKey(tenant, collection, id); !s.ok()) return s;
  if (absl::Status s = ValidateBody(body); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!injected_.ok()) return injected_;
  Record record;
  record.tenant = tenant;
  record.collection = collection;
  record.id = id;
  record.body = body;
  record.version = 1;
  record.created_ms = NowMs();
  record.updated_ms = record.created_ms;
  auto [it, inserted] = records_.try_emplace(MakeKey(tenant, collection, id), record);
  if (!inserted) {
    return absl::AlreadyExistsError(
        StrCat("record '", id, "' already exists in collection '", collection, "'"));
  }
  return record;
}

absl::StatusOr<Record> MemoryStore::Get(std::string_view tenant, std::string_view collection,
                                        std::string_view id) {
  if (absl::Status s = ValidateRecordKey(tenant, collection, id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!injected_.ok()) return injected_;
  auto it = records_.find(MakeKey(tenant, collection, id));
  if (it == records_.end()) return NotFound(collection, id);
  return it->second;
}

absl::StatusOr<Record> MemoryStore::Update(std::string_view tenant, std::string_view collection,
                                           std::string_view id, std::string_view body,
                                           int64_t expected_version) {
  if (absl::Status s = ValidateRecordKey(tenant, collection, id); !s.ok()) return s;
  if (absl::Status s = ValidateBody(body); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!injected_.ok()) return injected_;
  auto it = records_.find(MakeKey(tenant, collection, id));
  if (it == records_.end()) return NotFound(collection, id);
  Record& record = it->second;
  if (expected_version > 0 && record.version != expected_version) {
    return absl::AbortedError(StrCat("record '", id, "' is at version ", record.version,
                                     ", not the expected ", expected_version));
  }
  record.body = std::string(body);
  record.version += 1;
  record.updated_ms = NowMs();
  return record;
}

absl::Status MemoryStore::Delete(std::string_view tenant, std::string_view collection,
                                 std::string_view id) {
  if (absl::Status s = ValidateRecordKey(tenant, collection, id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!injected_.ok()) return injected_;
  if (records_.erase(MakeKey(tenant, collection, id)) == 0) return NotFound(collection, id);
  return absl::OkStatus();
}

absl::StatusOr<RecordPage> MemoryStore::List(std::string_view tenant, std::string_view collection,
                                             const ListOptions& options) {
  if (absl::Status s = ValidateScope(tenant, collection); !s.ok()) return s;
  if (absl::Status s = ValidateListOptions(options); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!injected_.ok()) return injected_;
  RecordPage page;
  auto it = records_.upper_bound(MakeKey(tenant, collection, options.after_id));
  for (; it != records_.end(); ++it) {
    const auto& [t, c, id] = it->first;
    if (t != tenant || c != collection) break;
    if (page.records.size() == static_cast<size_t>(options.limit)) {
      // A record beyond the page exists, so there is a next page.
      page.next_cursor = page.records.back().id;
      break;
    }
    page.records.push_back(it->second);
  }
  return page;
}

absl::StatusOr<int64_t> MemoryStore::AdminCountAllTenants(std::string_view collection) {
  if (absl::Status s = ValidateCollection(collection); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!injected_.ok()) return injected_;
  int64_t count = 0;
  for (const auto& [key, record] : records_) {
    if (std::get<1>(key) == collection) ++count;
  }
  return count;
}

absl::Status MemoryStore::AdminDeleteTenant(std::string_view tenant) {
  absl::MutexLock lock(&mu_);
  if (!injected_.ok()) return injected_;
  std::erase_if(records_, [&](const auto& kv) { return std::get<0>(kv.first) == tenant; });
  return absl::OkStatus();
}

absl::Status MemoryStore::Ping() {
  absl::MutexLock lock(&mu_);
  return injected_;
}

}  // namespace basalt
