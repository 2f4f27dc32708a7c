#include "tenancy/audit/verify.h"

#include <algorithm>
#include <memory>

#include "core/strings.h"
#include "tenancy/audit/audit_db.h"
#include "tenancy/audit/audit_entry.h"

namespace basalt::audit {

using internal::Db;
using internal::Stmt;

namespace {

// Hash mismatches for which the verifier looks up where the entry came from
// (one scan each), per tenant; later ones are reported as edits.
constexpr int kMaxReorderLookups = 16;
// How far from its place a moved entry is looked for by rehashing.
constexpr int64_t kReorderWindow = 16;

std::string Range(int64_t from, int64_t to) {
  return from == to ? StrCat("entry ", from) : StrCat("entries ", from, "-", to);
}

class TenantVerifier {
 public:
  TenantVerifier(Db& db, const CheckpointVerifier& key, const std::string& tenant,
                 VerifyReport& report)
      : db_(db), key_(key), tenant_(tenant), report_(report) {}

  // Checks the tenant; returns the largest tenant count a valid checkpoint signed.
  absl::StatusOr<int64_t> Run() {
    if (absl::Status s = CheckCheckpoints(); !s.ok()) return s;
    if (absl::Status s = WalkEntries(); !s.ok()) return s;
    CheckTail();
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const VerifyProblem& a, const VerifyProblem& b) { return a.seq < b.seq; });
    for (VerifyProblem& p : problems_) {
      ++report_.problem_count;
      if (report_.problems.size() < VerifyReport::kMaxProblems) report_.problems.push_back(p);
    }
    summary_.tenant = tenant_;
    if (!valid_.empty()) summary_.last_checkpoint = valid_.back();
    report_.tenants.push_back(std::move(summary_));
    return max_tenants_;
  }

 private:
  void Problem(int64_t seq, ProblemKind kind, std::string message) {
    problems_.push_back(VerifyProblem{tenant_, seq, kind, std::move(message)});
  }

  absl::Status CheckCheckpoints() {
    absl::StatusOr<Stmt> stmt =
        db_.Prepare(StrCat("SELECT ", internal::kCheckpointColumns,
                           " FROM audit_checkpoints WHERE tenant = ?1 ORDER BY number"));
    if (!stmt.ok()) return stmt.status();
    if (absl::Status s = stmt->Bind(1, tenant_); !s.ok()) return s;
    int64_t expected = 1;
    for (;;) {
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      Checkpoint c = internal::ReadCheckpoint(*stmt);
      ++report_.checkpoints_checked;
      if (c.number != expected) {
        Problem(c.seq, ProblemKind::kCheckpointMissing,
                c.number > expected
                    ? StrCat("checkpoint ", expected, " missing (checkpoints jump from ",
                             expected - 1, " to ", c.number, ")")
                    : StrCat("checkpoint number ", c.number, " out of range"));
      }
      expected = c.number + 1;
      if (!key_.Verify(c)) {
        std::string why = StrCat("checkpoint ", c.number, " signature invalid");
        if (c.key_id != key_.key_id()) {
          StrAppend(&why, " (it names key ", c.key_id, "; verifying with key ", key_.key_id(), ")");
        }
        Problem(c.seq, ProblemKind::kCheckpointSignature, std::move(why));
        unsigned_max_seq_ = std::max(unsigned_max_seq_, c.seq);
        continue;
      }
      if (!valid_.empty() && c.seq <= valid_.back().seq) {
        Problem(c.seq, ProblemKind::kCheckpointMismatch,
                StrCat("checkpoint ", c.number, " covers seq ", c.seq, ", not after checkpoint ",
                       valid_.back().number, "'s seq ", valid_.back().seq));
        continue;
      }
      max_tenants_ = std::max(max_tenants_, c.tenants);
      valid_.push_back(std::move(c));
    }
    return absl::OkStatus();
  }

  // The seq an entry whose hash does not match was written at: the fields
  // hash right at a nearby seq, or after the entry its prev hash names.
  std::optional<int64_t> OriginalSeq(StoredEntry row) {
    if (lookups_++ >= kMaxReorderLookups) return std::nullopt;
    const int64_t stored = row.seq;
    auto written_at = [&row](int64_t seq) {
      row.seq = seq;
      return seq >= 1 && EntryHash(row) == row.hash;
    };
    for (int64_t d = 1; d <= kReorderWindow; ++d) {
      if (written_at(stored - d)) return stored - d;
      if (written_at(stored + d)) return stored + d;
    }
    if (row.prev_hash == kZeroHash) return written_at(1) ? std::optional<int64_t>(1) : std::nullopt;
    absl::StatusOr<Stmt> stmt =
        db_.Prepare("SELECT seq FROM audit_entries WHERE tenant = ?1 AND hash = ?2 LIMIT 1");
    if (!stmt.ok() || !stmt->Bind(1, tenant_).ok() || !stmt->Bind(2, row.prev_hash).ok()) {
      return std::nullopt;
    }
    absl::StatusOr<bool> found = stmt->Step();
    if (!found.ok() || !*found) return std::nullopt;
    const int64_t candidate = stmt->Int(0) + 1;
    if (candidate != stored && written_at(candidate)) return candidate;
    return std::nullopt;
  }

  absl::Status WalkEntries() {
    absl::StatusOr<Stmt> stmt = db_.Prepare(StrCat(
        "SELECT ", internal::kEntryColumns, " FROM audit_entries WHERE tenant = ?1 ORDER BY seq"));
    if (!stmt.ok()) return stmt.status();
    if (absl::Status s = stmt->Bind(1, tenant_); !s.ok()) return s;
    int64_t expected = 1;
    std::string prev = kZeroHash;
    size_t next_cp = 0;
    for (;;) {
      absl::StatusOr<bool> has_row = stmt->Step();
      if (!has_row.ok()) return has_row.status();
      if (!*has_row) break;
      const StoredEntry row = internal::ReadEntry(*stmt);
      ++report_.entries_checked;
      ++summary_.entries;
      bool gap = false;
      if (row.seq > expected) {
        gap = true;
        Problem(expected, ProblemKind::kGap,
                StrCat(Range(expected, row.seq - 1), " missing (gap)"));
      } else if (row.seq < expected) {
        Problem(row.seq, ProblemKind::kGap, StrCat("entry seq ", row.seq, " out of range"));
      }
      if (EntryHash(row) != row.hash) {
        if (std::optional<int64_t> original = OriginalSeq(row)) {
          Problem(row.seq, ProblemKind::kReordered,
                  StrCat("entries reordered at ", row.seq, ": the entry stored as ", row.seq,
                         " was written as ", *original));
        } else {
          Problem(row.seq, ProblemKind::kEdited,
                  StrCat("entry ", row.seq, " edited: hash mismatch"));
        }
      } else if (!gap && row.prev_hash != prev) {
        Problem(row.seq, ProblemKind::kChainBroken,
                StrCat("chain broken at entry ", row.seq, ": its prev hash is not entry ",
                       row.seq - 1, "'s hash (entry ", row.seq - 1,
                       " was rewritten with a new hash, or entries were removed)"));
      }
      while (next_cp < valid_.size() && valid_[next_cp].seq <= row.seq) {
        const Checkpoint& c = valid_[next_cp++];
        if (c.seq < row.seq) {
          Problem(c.seq, ProblemKind::kCheckpointMismatch,
                  StrCat("checkpoint ", c.number, " covers entry ", c.seq, ", which is missing"));
        } else if (c.hash != row.hash) {
          Problem(c.seq, ProblemKind::kCheckpointMismatch,
                  StrCat("checkpoint ", c.number, " does not match the chain: entry ", c.seq,
                         "'s hash differs from the signed one (entry ", c.seq, " rewritten)"));
        }
      }
      prev = row.hash;
      expected = row.seq + 1;
      summary_.last_seq = row.seq;
    }
    return absl::OkStatus();
  }

  void CheckTail() {
    const int64_t last = summary_.last_seq;
    const int64_t signed_seq = valid_.empty() ? 0 : valid_.back().seq;
    if (signed_seq > last) {
      Problem(last + 1, ProblemKind::kTruncated,
              last == 0 ? StrCat("truncated: every entry deleted, but checkpoint ",
                                 valid_.back().number, " covers seq ", signed_seq)
                        : StrCat("truncated: last checkpoint covers seq ", signed_seq,
                                 ", log ends at ", last));
    } else if (signed_seq < last && unsigned_max_seq_ <= signed_seq) {
      // (When a checkpoint with a bad signature claims the tail, that
      // signature problem is the report.)
      Problem(signed_seq + 1, ProblemKind::kUncoveredTail,
              StrCat(Range(signed_seq + 1, last),
                     " not covered by a valid checkpoint (each commit signs its tail: "
                     "checkpoints were removed or forged)"));
    }
  }

  Db& db_;
  const CheckpointVerifier& key_;
  const std::string& tenant_;
  VerifyReport& report_;
  std::vector<VerifyProblem> problems_;
  std::vector<Checkpoint> valid_;  // checkpoints with valid signatures, ascending seq
  TenantSummary summary_;
  int64_t max_tenants_ = 0;
  int64_t unsigned_max_seq_ = 0;  // largest seq a checkpoint with a bad signature claims
  int lookups_ = 0;
};

absl::StatusOr<std::vector<std::string>> Tenants(Db& db, const std::optional<std::string>& only) {
  std::vector<std::string> tenants;
  absl::StatusOr<Stmt> stmt = only.has_value()
                                  ? db.Prepare(
                                        "SELECT tenant FROM audit_entries WHERE tenant = ?1 UNION "
                                        "SELECT tenant FROM audit_checkpoints WHERE tenant = ?1")
                                  : db.Prepare(
                                        "SELECT tenant FROM audit_entries UNION SELECT tenant FROM "
                                        "audit_checkpoints ORDER BY tenant");
  if (!stmt.ok()) return stmt.status();
  if (only.has_value()) {
    if (absl::Status s = stmt->Bind(1, *only); !s.ok()) return s;
  }
  for (;;) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return tenants;
    tenants.push_back(stmt->Text(0));
  }
}

}  // namespace

std::string VerifyReport::Summary() const {
  std::string s =
      StrCat(tenants_checked, tenants_checked == 1 ? " tenant, " : " tenants, ", entries_checked,
             " entries, ", checkpoints_checked, " checkpoints checked: ");
  if (ok()) return StrCat(s, "ok");
  StrAppend(&s, problem_count, problem_count == 1 ? " problem" : " problems");
  if (const VerifyProblem* first = first_problem()) {
    StrAppend(&s, "; first: ", first->tenant.empty() ? "" : StrCat("tenant ", first->tenant, ": "),
              first->message);
  }
  return s;
}

absl::StatusOr<VerifyReport> VerifyAuditLog(const std::string& db_path,
                                            const std::string& public_key_pem_path,
                                            std::optional<std::string> tenant) {
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> key =
      CheckpointVerifier::Load(public_key_pem_path);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(db_path, /*read_only=*/true);
  if (!db.ok()) return db.status();
  absl::StatusOr<bool> has_schema = internal::HasSchema(**db);
  if (!has_schema.ok()) return has_schema.status();
  if (!*has_schema) {
    return absl::InvalidArgumentError(StrCat("'", db_path, "' holds no audit log"));
  }
  // One read transaction: the writer may keep appending; we see one snapshot.
  if (absl::Status s = (*db)->Exec("BEGIN"); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> tenants = Tenants(**db, tenant);
  if (!tenants.ok()) return tenants.status();

  VerifyReport report;
  report.key_id = (*key)->key_id();
  int64_t signed_tenants = 0;
  for (const std::string& t : *tenants) {
    ++report.tenants_checked;
    absl::StatusOr<int64_t> count = TenantVerifier(**db, **key, t, report).Run();
    if (!count.ok()) return count.status();
    signed_tenants = std::max(signed_tenants, *count);
  }
  // With --tenant only one tenant is read, so the count says nothing.
  if (!tenant.has_value() && signed_tenants > report.tenants_checked) {
    ++report.problem_count;
    if (report.problems.size() < VerifyReport::kMaxProblems) {
      report.problems.push_back(
          VerifyProblem{"", 0, ProblemKind::kTenantsMissing,
                        StrCat("tenants missing: a checkpoint was signed when the log held ",
                               signed_tenants, " tenants, the file holds ", report.tenants_checked,
                               " (a whole tenant was deleted)")});
    }
  }
  (void)(*db)->Exec("COMMIT");
  return report;
}

}  // namespace basalt::audit
