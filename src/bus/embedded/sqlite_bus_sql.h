// SQL shared by sqlite_bus.cc (schema, reads) and sqlite_bus_writes.cc. Only
// those two files include this header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "bus/bus.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/migrations.h"

namespace basalt::bus::sql {

// The bus database's migrations (its own file, separate from the Store's, so
// queue writes never contend with record writes for SQLite's one write lock).
absl::Span<const sqlite::Migration> Migrations();

// Every Job column, in the order ReadJob expects.
inline constexpr std::string_view kJobColumns =
    "id, queue, tenant_id, state, priority, not_before_ms, attempts, max_attempts, "
    "COALESCE(lease_token, ''), lease_until_ms, COALESCE(idem_key, ''), request_hash, "
    "COALESCE(group_id, ''), group_seq, payload, COALESCE(result, ''), COALESCE(error, ''), "
    "created_ms, started_ms, finished_ms, updated_ms";

// Reads a job whose columns start at index `first`.
Job ReadJob(const sqlite::Statement& stmt, int first = 0);

// The job with this id (any tenant when tenant is empty); kNotFound otherwise.
absl::StatusOr<Job> LoadJob(sqlite::Connection& conn, std::string_view tenant,
                            std::string_view id);

// Appends events, setting their seq.
absl::Status InsertEvents(sqlite::Connection& conn, std::vector<Event>& events);

absl::StatusOr<std::vector<Event>> ReadEvents(sqlite::Statement& stmt);

}  // namespace basalt::bus::sql
