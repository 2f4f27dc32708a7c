// Tampering with the audit log file, one way per test, and what
// VerifyAuditLog reports. The log: tenant "beta" with 5 entries (checkpoint
// 1), then tenant "acme" with 30 entries in three batches (checkpoints 1-3 at
// seq 10, 20, 30).
#include "tenancy/audit/verify.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tenancy/audit/audit_db.h"
#include "tenancy/audit/audit_test_util.h"

namespace basalt::audit {
namespace {

using testing::AuditDir;
using testing::Entry;
using testing::Tamper;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = dir_.Open();
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(log->Append(Entry("beta", i)).ok());
    ASSERT_TRUE(log->Flush().ok());
    for (int batch = 0; batch < 3; ++batch) {
      for (int i = 1; i <= 10; ++i) ASSERT_TRUE(log->Append(Entry("acme", batch * 10 + i)).ok());
      ASSERT_TRUE(log->Flush().ok());
    }
  }

  VerifyReport Verify(std::optional<std::string> tenant = std::nullopt) {
    absl::StatusOr<VerifyReport> report = VerifyAuditLog(dir_.db(), dir_.public_key(), tenant);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : VerifyReport();
  }

  // The first problem, after checking there is one of `kind` naming `text`.
  static void ExpectFirst(const VerifyReport& r, const std::string& tenant, int64_t seq,
                          ProblemKind kind, const std::string& text) {
    ASSERT_FALSE(r.ok()) << "tampering not detected: " << r.Summary();
    const VerifyProblem* first = r.first_problem();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->tenant, tenant) << first->message;
    EXPECT_EQ(first->seq, seq) << first->message;
    EXPECT_EQ(first->kind, kind) << first->message;
    EXPECT_NE(first->message.find(text), std::string::npos) << first->message;
  }

  StoredEntry ReadRow(int64_t seq) {
    auto db = internal::Db::Open(dir_.db(), /*read_only=*/true);
    EXPECT_TRUE(db.ok());
    auto stmt = (*db)->Prepare(
        std::string("SELECT ") + internal::kEntryColumns +
        " FROM audit_entries WHERE tenant = 'acme' AND seq = " + std::to_string(seq));
    EXPECT_TRUE(stmt.ok());
    auto row = stmt->Step();
    EXPECT_TRUE(row.ok() && *row);
    return internal::ReadEntry(*stmt);
  }

  // Rewrites acme's entry `seq` with another principal and a correctly
  // recomputed own hash.
  void EditAndRehash(int64_t seq) {
    StoredEntry row = ReadRow(seq);
    row.principal = "mallory";
    const std::string hash = EntryHash(row);
    Tamper(dir_.db(), "UPDATE audit_entries SET principal = 'mallory', hash = '" + hash +
                          "' WHERE tenant = 'acme' AND seq = " + std::to_string(seq));
  }

  AuditDir dir_;
};

TEST_F(VerifyTest, CleanLogVerifies) {
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.tenants_checked, 2);
  EXPECT_EQ(r.entries_checked, 35);
  EXPECT_EQ(r.checkpoints_checked, 4);
  EXPECT_EQ(r.Summary(), "2 tenants, 35 entries, 4 checkpoints checked: ok");
  ASSERT_EQ(r.tenants.size(), 2u);
  EXPECT_EQ(r.tenants[0].tenant, "acme");
  ASSERT_TRUE(r.tenants[0].last_checkpoint.has_value());
  EXPECT_EQ(r.tenants[0].last_checkpoint->seq, 30);
}

TEST_F(VerifyTest, EditedFieldIsDetected) {
  Tamper(dir_.db(), "UPDATE audit_entries SET outcome = 'ok' WHERE tenant = 'acme' AND seq = 17");
  ExpectFirst(Verify(), "acme", 17, ProblemKind::kEdited, "entry 17 edited: hash mismatch");
}

TEST_F(VerifyTest, EditedDetailIsDetected) {
  Tamper(dir_.db(), "UPDATE audit_entries SET detail = '{}' WHERE tenant = 'beta' AND seq = 2");
  ExpectFirst(Verify(), "beta", 2, ProblemKind::kEdited, "entry 2 edited");
}

TEST_F(VerifyTest, EditedAndRehashedEntryBreaksTheNextLink) {
  EditAndRehash(17);
  VerifyReport r = Verify();
  ExpectFirst(r, "acme", 18, ProblemKind::kChainBroken, "chain broken at entry 18");
}

TEST_F(VerifyTest, EditedAndRehashedLastEntryIsCaughtByItsCheckpoint) {
  EditAndRehash(30);  // no next entry: only the signed checkpoint knows
  ExpectFirst(Verify(), "acme", 30, ProblemKind::kCheckpointMismatch,
              "checkpoint 3 does not match the chain");
}

TEST_F(VerifyTest, DeletedMiddleEntryIsAGap) {
  Tamper(dir_.db(), "DELETE FROM audit_entries WHERE tenant = 'acme' AND seq = 12");
  ExpectFirst(Verify(), "acme", 12, ProblemKind::kGap, "entry 12 missing (gap)");
}

TEST_F(VerifyTest, DeletedCheckpointedEntryIsAGapAndAMissingCheckpointTarget) {
  Tamper(dir_.db(), "DELETE FROM audit_entries WHERE tenant = 'acme' AND seq IN (10, 11)");
  VerifyReport r = Verify();
  ExpectFirst(r, "acme", 10, ProblemKind::kGap, "entries 10-11 missing (gap)");
  bool saw_checkpoint = false;
  for (const VerifyProblem& p : r.problems) {
    saw_checkpoint |= p.message == "checkpoint 1 covers entry 10, which is missing";
  }
  EXPECT_TRUE(saw_checkpoint);
}

TEST_F(VerifyTest, SwappedEntriesAreReported) {
  Tamper(dir_.db(),
         "UPDATE audit_entries SET seq = -1 WHERE tenant = 'acme' AND seq = 9;"
         "UPDATE audit_entries SET seq = 9 WHERE tenant = 'acme' AND seq = 10;"
         "UPDATE audit_entries SET seq = 10 WHERE tenant = 'acme' AND seq = -1;");
  ExpectFirst(Verify(), "acme", 9, ProblemKind::kReordered,
              "entries reordered at 9: the entry stored as 9 was written as 10");
}

TEST_F(VerifyTest, EntriesSwappedFarApartAreReported) {
  Tamper(dir_.db(),
         "UPDATE audit_entries SET seq = -1 WHERE tenant = 'acme' AND seq = 2;"
         "UPDATE audit_entries SET seq = 2 WHERE tenant = 'acme' AND seq = 29;"
         "UPDATE audit_entries SET seq = 29 WHERE tenant = 'acme' AND seq = -1;");
  ExpectFirst(Verify(), "acme", 2, ProblemKind::kReordered,
              "entries reordered at 2: the entry stored as 2 was written as 29");
}

TEST_F(VerifyTest, TruncatedTailIsDetected) {
  Tamper(dir_.db(), "DELETE FROM audit_entries WHERE tenant = 'acme' AND seq > 25");
  ExpectFirst(Verify(), "acme", 26, ProblemKind::kTruncated,
              "truncated: last checkpoint covers seq 30, log ends at 25");
}

TEST_F(VerifyTest, TruncatedTailWithItsLastCheckpointIsDetectedByAnOlderOne) {
  Tamper(dir_.db(),
         "DELETE FROM audit_entries WHERE tenant = 'acme' AND seq > 15;"
         "DELETE FROM audit_checkpoints WHERE tenant = 'acme' AND number = 3;");
  ExpectFirst(Verify(), "acme", 16, ProblemKind::kTruncated,
              "truncated: last checkpoint covers seq 20, log ends at 15");
}

TEST_F(VerifyTest, TruncatedTailWithLaterCheckpointsLeavesAnUncoveredTail) {
  Tamper(dir_.db(),
         "DELETE FROM audit_entries WHERE tenant = 'acme' AND seq > 25;"
         "DELETE FROM audit_checkpoints WHERE tenant = 'acme' AND number = 3;");
  ExpectFirst(Verify(), "acme", 21, ProblemKind::kUncoveredTail,
              "entries 21-25 not covered by a valid checkpoint");
}

// The documented limit: cutting entries and checkpoints back to a batch
// boundary leaves a shorter, validly signed log. Only a copy of the last
// checkpoint kept elsewhere (printed by the verifier) shows it.
TEST_F(VerifyTest, KnownLimitCutBackToABatchBoundaryWithItsCheckpoints) {
  Tamper(dir_.db(),
         "DELETE FROM audit_entries WHERE tenant = 'acme' AND seq > 20;"
         "DELETE FROM audit_checkpoints WHERE tenant = 'acme' AND number = 3;");
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.tenants[0].last_checkpoint->seq, 20);  // differs from the copy kept elsewhere
}

TEST_F(VerifyTest, AllEntriesOfATenantDeletedWhileCheckpointsRemain) {
  Tamper(dir_.db(), "DELETE FROM audit_entries WHERE tenant = 'beta'");
  ExpectFirst(Verify(), "beta", 1, ProblemKind::kTruncated,
              "truncated: every entry deleted, but checkpoint 1 covers seq 5");
}

TEST_F(VerifyTest, WholeTenantDeletedWithItsCheckpointsIsSeenByTheOthers) {
  Tamper(dir_.db(),
         "DELETE FROM audit_entries WHERE tenant = 'beta';"
         "DELETE FROM audit_checkpoints WHERE tenant = 'beta';");
  ExpectFirst(Verify(), "", 0, ProblemKind::kTenantsMissing, "tenants missing");
}

TEST_F(VerifyTest, ForgedCheckpointSignatureIsInvalid) {
  Tamper(dir_.db(),
         "UPDATE audit_checkpoints SET signature = substr(signature, 1, 10) || "
         "CASE substr(signature, 11, 1) WHEN '0' THEN '1' ELSE '0' END || substr(signature, 12) "
         "WHERE tenant = 'acme' AND number = 2");
  ExpectFirst(Verify(), "acme", 20, ProblemKind::kCheckpointSignature,
              "checkpoint 2 signature invalid");
}

TEST_F(VerifyTest, ForgedCheckpointCoveringATruncationIsInvalid) {
  // Cut the tail and move checkpoint 3 to the new end: the signature breaks.
  StoredEntry last = ReadRow(25);
  Tamper(dir_.db(),
         "DELETE FROM audit_entries WHERE tenant = 'acme' AND seq > 25;"
         "UPDATE audit_checkpoints SET seq = 25, hash = '" +
             last.hash + "' WHERE tenant = 'acme' AND number = 3;");
  ExpectFirst(Verify(), "acme", 25, ProblemKind::kCheckpointSignature,
              "checkpoint 3 signature invalid");
}

TEST_F(VerifyTest, DeletedMiddleCheckpointIsMissing) {
  Tamper(dir_.db(), "DELETE FROM audit_checkpoints WHERE tenant = 'acme' AND number = 2");
  ExpectFirst(Verify(), "acme", 30, ProblemKind::kCheckpointMissing,
              "checkpoint 2 missing (checkpoints jump from 1 to 3)");
}

TEST_F(VerifyTest, WrongPublicKeyFailsEveryCheckpoint) {
  AuditDir other;
  { auto log = other.Open(); }
  absl::StatusOr<VerifyReport> r = VerifyAuditLog(dir_.db(), other.public_key(), std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectFirst(*r, "acme", 10, ProblemKind::kCheckpointSignature,
              "checkpoint 1 signature invalid (it names key ");
}

TEST_F(VerifyTest, TenantFilterChecksOnlyThatTenant) {
  Tamper(dir_.db(), "UPDATE audit_entries SET outcome = 'ok' WHERE tenant = 'acme' AND seq = 3");
  VerifyReport beta = Verify("beta");
  EXPECT_TRUE(beta.ok()) << beta.Summary();
  EXPECT_EQ(beta.tenants_checked, 1);
  EXPECT_EQ(beta.entries_checked, 5);
  EXPECT_FALSE(Verify("acme").ok());
  EXPECT_EQ(Verify("nobody").tenants_checked, 0);
}

TEST_F(VerifyTest, MissingFilesAreErrorsNotReports) {
  EXPECT_EQ(
      VerifyAuditLog(dir_.path() + "/nope.db", dir_.public_key(), std::nullopt).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(VerifyAuditLog(dir_.db(), dir_.path() + "/nope.pem", std::nullopt).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(VerifyTest, RunAuditVerifyExitCodes) {
  std::ostringstream clean;
  EXPECT_EQ(RunAuditVerify(dir_.db(), dir_.public_key(), std::nullopt, clean), 0) << clean.str();
  EXPECT_NE(clean.str().find("checkpoints checked: ok"), std::string::npos) << clean.str();
  EXPECT_NE(clean.str().find("last checkpoint 3 at seq 30"), std::string::npos) << clean.str();

  std::ostringstream missing;
  EXPECT_EQ(RunAuditVerify(dir_.path() + "/nope.db", dir_.public_key(), std::nullopt, missing), 2);
  EXPECT_NE(missing.str().find("not found"), std::string::npos) << missing.str();

  Tamper(dir_.db(), "UPDATE audit_entries SET outcome = 'ok' WHERE tenant = 'acme' AND seq = 17");
  std::ostringstream tampered;
  EXPECT_EQ(RunAuditVerify(dir_.db(), dir_.public_key(), std::nullopt, tampered), 1);
  EXPECT_NE(tampered.str().find("First bad entry: tenant acme, seq 17: entry 17 edited"),
            std::string::npos)
      << tampered.str();
}

}  // namespace
}  // namespace basalt::audit
