// Test helpers for the audit log: a fresh directory per test, entries, and
// direct SQL on the database file (as someone tampering with it would).
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/strings.h"
#include "tenancy/audit/audit_log.h"

namespace basalt::audit::testing {

class AuditDir {
 public:
  AuditDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "audit_test_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
    std::filesystem::create_directory(path_ + "/keys");
  }
  ~AuditDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string db() const { return path_ + "/audit.db"; }
  std::string private_key() const { return path_ + "/keys/audit_ed25519.pem"; }
  std::string public_key() const { return path_ + "/keys/audit_ed25519.pub.pem"; }
  const std::string& path() const { return path_; }

  AuditLog::Options Options() const {
    AuditLog::Options o;
    o.db_path = db();
    o.private_key_path = private_key();
    o.public_key_path = public_key();
    // Batches form only at Flush (or max_batch), so tests know where the
    // checkpoints fall.
    o.max_delay = std::chrono::seconds(30);
    return o;
  }
  std::unique_ptr<AuditLog> Open() const {
    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(Options());
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

 private:
  std::string path_;
};

inline AuditEntry Entry(const std::string& tenant, int i) {
  AuditEntry e;
  e.tenant = tenant;
  e.principal = StrCat("key_", i % 3);
  e.action = i % 2 == 0 ? "api_key.revoke" : "permission.denied";
  e.time_ms = 1'700'000'000'000 + i;
  e.remote_addr = StrCat("10.0.0.", i % 250);
  e.resource = StrCat("res_", i);
  e.outcome = i % 2 == 0 ? AuditOutcome::kOk : AuditOutcome::kDenied;
  e.reason = i % 2 == 0 ? "" : "missing scope";
  e.request_id = StrCat("req_", i);
  e.detail = {{"n", StrCat(i)}};
  return e;
}

// Runs `sql` on the database file directly, after dropping the append-only
// triggers (which anyone editing the file can do).
inline void Tamper(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  const std::string all =
      "DROP TRIGGER IF EXISTS audit_entries_no_update; DROP TRIGGER IF EXISTS "
      "audit_entries_no_delete; DROP TRIGGER IF EXISTS audit_checkpoints_no_update; "
      "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete; " +
      sql;
  char* error = nullptr;
  const int rc = sqlite3_exec(db, all.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "") << " in: " << sql;
  sqlite3_free(error);
  sqlite3_close(db);
}

}  // namespace basalt::audit::testing
