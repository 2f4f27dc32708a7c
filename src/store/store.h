// Store: the port for basalt's durable records. Every record belongs to exactly
// one tenant, and every method takes the tenant: a record of tenant A is
// invisible to tenant B (reads answer kNotFound, never kPermissionDenied). The
// only calls that cross tenants start with `Admin` and say so.
//
// A record is a JSON document (stored as text) addressed by (tenant, collection,
// id), with a version that increases by one on every update. Later capabilities
// (queue, documents, workflows, streams) add their own tables through
// migrations, each with a `tenant_id` column.
//
// Thread-safety: implementations are safe to call from many threads at once.
// Calls block (disk I/O), so they must never run on an io thread: coroutines go
// through AsyncStore (async_store.h), which runs them on the BlockingPool.
//
// Errors, for every method:
//   kInvalidArgument  an empty tenant, collection or id, an id longer than 256
//                     bytes, or a body that is not valid JSON; the message names
//                     the field.
//   kUnavailable      the database is busy past its timeout or cannot be opened;
//                     the caller may retry.
//   kInternal         anything else from the engine; message carries its text.
//
// Adapters: sqlite/ (embedded default), memory/ (the in-memory fake for tests);
// postgres/ comes with the scale-out issue. app/ picks one by name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt {

struct Record {
  std::string tenant;
  std::string collection;
  std::string id;
  std::string body;        // JSON text
  int64_t version = 0;     // 1 after Create, +1 per Update
  int64_t created_ms = 0;  // unix epoch milliseconds
  int64_t updated_ms = 0;
};

struct ListOptions {
  std::string after_id;  // cursor: only ids strictly greater than this
  int limit = 100;       // 1..1000; outside that range is kInvalidArgument
};

struct RecordPage {
  std::vector<Record> records;  // ordered by id ascending
  std::string next_cursor;      // empty when this is the last page
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates a record at version 1. kAlreadyExists when the id is taken.
  [[nodiscard]] virtual absl::StatusOr<Record> Create(std::string_view tenant,
                                                      std::string_view collection,
                                                      std::string_view id,
                                                      std::string_view body) = 0;

  // The record, or kNotFound (also when it belongs to another tenant).
  [[nodiscard]] virtual absl::StatusOr<Record> Get(std::string_view tenant,
                                                   std::string_view collection,
                                                   std::string_view id) = 0;

  // Replaces the body and bumps the version. With expected_version > 0, fails
  // with kAborted unless the stored version equals it (optimistic concurrency).
  // kNotFound when there is no such record.
  [[nodiscard]] virtual absl::StatusOr<Record> Update(std::string_view tenant,
                                                      std::string_view collection,
                                                      std::string_view id,
                                                      std::string_view body,
                                                      int64_t expected_version) = 0;

  // Removes the record. kNotFound when there is no such record.
  [[nodiscard]] virtual absl::Status Delete(std::string_view tenant, std::string_view collection,
                                            std::string_view id) = 0;

  // One page of a tenant's records in a collection, ordered by id.
  [[nodiscard]] virtual absl::StatusOr<RecordPage> List(std::string_view tenant,
                                                        std::string_view collection,
                                                        const ListOptions& options) = 0;

  // Number of records in a collection across all tenants (admin views only).
  [[nodiscard]] virtual absl::StatusOr<int64_t> AdminCountAllTenants(
      std::string_view collection) = 0;

  // Removes every record of `tenant` (tenant deletion, after its keys were
  // shredded). OK when it had none.
  [[nodiscard]] virtual absl::Status AdminDeleteTenant(std::string_view tenant) = 0;

  // OK when the store can serve reads and writes (used by /readyz).
  [[nodiscard]] virtual absl::Status Ping() = 0;

  // The schema version after migrations (0 for stores without a schema).
  virtual int SchemaVersion() const = 0;
};

}  // namespace basalt
