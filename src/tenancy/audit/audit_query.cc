// AuditLog's reads: tenant-scoped and cross-tenant pages.
#include <algorithm>

#include "core/strings.h"
#include "tenancy/audit/audit_db.h"
#include "tenancy/audit/audit_log.h"

namespace basalt::audit {

using internal::Stmt;

namespace {

constexpr int kMaxPage = 1000;

int ClampLimit(int limit) { return std::clamp(limit, 1, kMaxPage); }

AuditRecord ToRecord(const StoredEntry& row) {
  AuditRecord r;
  r.entry = EntryFromStored(row);
  r.seq = row.seq;
  r.prev_hash = row.prev_hash;
  r.hash = row.hash;
  return r;
}

absl::StatusOr<std::vector<AuditRecord>> ReadAll(Stmt& stmt) {
  std::vector<AuditRecord> records;
  for (;;) {
    absl::StatusOr<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return records;
    records.push_back(ToRecord(internal::ReadEntry(stmt)));
  }
}

}  // namespace

absl::StatusOr<AuditPage> AuditLog::Query(const std::string& tenant, int64_t from_ms, int64_t to_ms,
                                          int64_t after_seq, int limit) const {
  limit = ClampLimit(limit);
  std::lock_guard<std::mutex> lock(reader_mu_);
  // The primary key (tenant, seq) drives the scan; the time range filters it.
  absl::StatusOr<Stmt> stmt = reader_db_->Prepare(
      StrCat("SELECT ", internal::kEntryColumns,
             " FROM audit_entries WHERE tenant = ?1 AND seq > ?2 AND time_ms >= ?3 AND "
             "time_ms < ?4 ORDER BY seq LIMIT ?5"));
  if (!stmt.ok()) return stmt.status();
  absl::Status s = stmt->Bind(1, tenant);
  if (s.ok()) s = stmt->Bind(2, after_seq);
  if (s.ok()) s = stmt->Bind(3, from_ms);
  if (s.ok()) s = stmt->Bind(4, to_ms);
  if (s.ok()) s = stmt->Bind(5, int64_t{limit});
  if (!s.ok()) return s;
  absl::StatusOr<std::vector<AuditRecord>> records = ReadAll(*stmt);
  if (!records.ok()) return records.status();
  AuditPage page;
  page.records = std::move(*records);
  if (page.records.size() == static_cast<size_t>(limit))
    page.next_after_seq = page.records.back().seq;
  return page;
}

absl::StatusOr<AdminAuditPage> AuditLog::AdminQueryAllTenants(int64_t from_ms, int64_t to_ms,
                                                              const AdminCursor& after,
                                                              int limit) const {
  limit = ClampLimit(limit);
  std::lock_guard<std::mutex> lock(reader_mu_);
  // The index (time_ms, tenant, seq) serves both the range and the cursor.
  absl::StatusOr<Stmt> stmt = reader_db_->Prepare(
      StrCat("SELECT ", internal::kEntryColumns,
             " FROM audit_entries WHERE time_ms >= ?1 AND time_ms < ?2 AND "
             "(time_ms, tenant, seq) > (?3, ?4, ?5) ORDER BY time_ms, tenant, seq LIMIT ?6"));
  if (!stmt.ok()) return stmt.status();
  absl::Status s = stmt->Bind(1, from_ms);
  if (s.ok()) s = stmt->Bind(2, to_ms);
  if (s.ok()) s = stmt->Bind(3, after.time_ms);
  if (s.ok()) s = stmt->Bind(4, after.tenant);
  if (s.ok()) s = stmt->Bind(5, after.seq);
  if (s.ok()) s = stmt->Bind(6, int64_t{limit});
  if (!s.ok()) return s;
  absl::StatusOr<std::vector<AuditRecord>> records = ReadAll(*stmt);
  if (!records.ok()) return records.status();
  AdminAuditPage page;
  page.records = std::move(*records);
  if (page.records.size() == static_cast<size_t>(limit)) {
    const AuditRecord& last = page.records.back();
    page.next = AdminCursor{last.entry.time_ms, last.entry.tenant, last.seq};
  }
  return page;
}

}  // namespace basalt::audit
