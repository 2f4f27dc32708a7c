// RunAuditVerify: the human report behind `basalt audit verify`.
#include <ctime>

#include "tenancy/audit/verify.h"

namespace basalt::audit {

namespace {

// "2026-11-28T22:05:33.123Z" for unix milliseconds.
std::string Iso8601(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof(millis), ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(buf, n) + millis;
}

}  // namespace

int RunAuditVerify(const std::string& db_path, const std::string& public_key_path,
                   std::optional<std::string> tenant, std::ostream& out) {
  if (db_path.empty() || public_key_path.empty()) {
    out << "audit verify: both the database and the public key path are required\n";
    return 2;
  }
  if (tenant.has_value() && tenant->empty()) {
    out << "audit verify: --tenant needs a tenant id\n";
    return 2;
  }
  absl::StatusOr<VerifyReport> report = VerifyAuditLog(db_path, public_key_path, tenant);
  if (!report.ok()) {
    out << "audit verify: " << report.status().message() << "\n";
    return 2;
  }
  out << "audit log " << db_path << ", public key " << report->key_id << "\n";
  if (tenant.has_value() && report->tenants_checked == 0) {
    out << "tenant " << *tenant << " has no audit entries\n";
  }
  // Each tenant's last signed checkpoint: compare with a copy kept elsewhere
  // to catch a log cut back to a batch boundary with its checkpoints.
  for (const TenantSummary& t : report->tenants) {
    out << "  tenant " << t.tenant << ": " << t.entries << " entries, last seq " << t.last_seq;
    if (t.last_checkpoint.has_value()) {
      const Checkpoint& c = *t.last_checkpoint;
      out << "; last checkpoint " << c.number << " at seq " << c.seq << " hash " << c.hash
          << " signed " << Iso8601(c.time_ms);
    } else {
      out << "; no valid checkpoint";
    }
    out << "\n";
  }
  out << report->Summary() << "\n";
  if (report->ok()) return 0;
  const VerifyProblem* first = report->first_problem();
  out << "TAMPERED. First bad entry: "
      << (first->tenant.empty() ? std::string("(all tenants)") : "tenant " + first->tenant)
      << ", seq " << first->seq << ": " << first->message << "\n";
  for (const VerifyProblem& p : report->problems) {
    out << "  " << (p.tenant.empty() ? std::string("(all tenants)") : "tenant " + p.tenant)
        << " seq " << p.seq << ": " << p.message << "\n";
  }
  if (report->problem_count > static_cast<int64_t>(report->problems.size())) {
    out << "  ... and " << report->problem_count - static_cast<int64_t>(report->problems.size())
        << " more\n";
  }
  return 1;
}

}  // namespace basalt::audit
