// Offline verification of an audit log file (audit_log.h) against the
// checkpoint public key, and the `basalt audit verify` command built on it.
//
// Per tenant it checks: sequence numbers contiguous from 1; each entry's hash
// recomputed from its fields; each prev hash equal to the previous entry's
// hash; every checkpoint's signature; checkpoint numbers contiguous from 1;
// every checkpoint's (seq, hash) present in the chain; the chain not shorter
// than the last checkpoint (truncation, including a tenant whose entries are
// all gone while checkpoints remain); and the last entry covered by a
// checkpoint (the writer signs each batch's tail in the same transaction, so
// an uncovered tail means checkpoint rows were removed). Across tenants: no
// fewer tenants than the largest count a checkpoint signed (a tenant deleted
// with its checkpoints).
//
// What it cannot detect from the file alone (see also audit_log.h):
// - entries and checkpoints removed together back to a batch boundary: the
//   rest is a validly signed, shorter log (the summary's last checkpoints,
//   kept elsewhere, catch it);
// - the same for a tenant deleted whole when no later checkpoint of another
//   tenant was signed, or with --tenant (no other tenants are read);
// - rewriting by someone who also holds the private key.
// With the wrong public key every checkpoint fails, which is reported as such.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tenancy/audit/checkpoint.h"

namespace basalt::audit {

enum class ProblemKind {
  kGap,                  // "entry 12 missing (gap)"
  kEdited,               // "entry 17 edited: hash mismatch"
  kReordered,            // "entries reordered at 9: ..."
  kChainBroken,          // prev hash does not match the previous entry
  kTruncated,            // "truncated: last checkpoint covers seq 40, log ends at 31"
  kUncoveredTail,        // entries after the last checkpoint
  kCheckpointSignature,  // "checkpoint 3 signature invalid"
  kCheckpointMissing,    // checkpoint numbers jump
  kCheckpointMismatch,   // a checkpoint's (seq, hash) not in the chain
  kTenantsMissing,       // fewer tenants than a checkpoint signed
};

struct VerifyProblem {
  std::string tenant;  // "" for kTenantsMissing
  int64_t seq = 0;     // the first entry concerned
  ProblemKind kind = ProblemKind::kEdited;
  std::string message;
};

struct TenantSummary {
  std::string tenant;
  int64_t entries = 0;
  int64_t last_seq = 0;
  std::optional<Checkpoint> last_checkpoint;  // the last one with a valid signature
};

struct VerifyReport {
  int64_t tenants_checked = 0;
  int64_t entries_checked = 0;
  int64_t checkpoints_checked = 0;
  int64_t problem_count = 0;            // every problem found
  std::vector<VerifyProblem> problems;  // the first kMaxProblems, tenant by tenant, by seq
  std::vector<TenantSummary> tenants;   // in tenant order
  std::string key_id;                   // of the public key verified with

  static constexpr size_t kMaxProblems = 100;
  bool ok() const { return problem_count == 0; }
  // The first bad entry, or null when ok().
  const VerifyProblem* first_problem() const { return problems.empty() ? nullptr : &problems[0]; }
  // "3 tenants, 120 entries, 12 checkpoints checked: ok" or "...: 2 problems; first: ...".
  std::string Summary() const;
};

// Opens `db_path` read-only and checks it (one tenant when `tenant` is set).
// Tampering is reported in the VerifyReport, not as an error. kNotFound when
// the database or the key file is missing; kInvalidArgument when the key is
// not an Ed25519 public key or the file holds no audit log; kUnavailable or
// kInternal when it cannot be read.
absl::StatusOr<VerifyReport> VerifyAuditLog(const std::string& db_path,
                                            const std::string& public_key_pem_path,
                                            std::optional<std::string> tenant);

// `basalt audit verify [--tenant T]`: prints the report to `out` (counts,
// each tenant's last checkpoint for comparing with a copy kept elsewhere, and
// the problems, first bad entry first). Returns 0 when clean, 1 when tampered,
// 2 on usage or I/O errors.
int RunAuditVerify(const std::string& db_path, const std::string& public_key_path,
                   std::optional<std::string> tenant, std::ostream& out);

}  // namespace basalt::audit
