#include "tenancy/audit/audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>
#include <vector>

#include "tenancy/audit/audit_test_util.h"
#include "tenancy/audit/verify.h"

namespace basalt::audit {
namespace {

using testing::AuditDir;
using testing::Entry;

constexpr int64_t kAllTime = std::numeric_limits<int64_t>::max();

TEST(AuditEntryTest, NormalizeCutsAtUtf8BoundaryAndBoundsDetail) {
  AuditEntry e = Entry("acme", 1);
  e.reason = StrCat(std::string(kMaxFieldBytes - 1, 'x'), "\xC3\xA9");  // é straddles the limit
  for (int i = 0; i < 40; ++i) e.detail.emplace(StrCat("k", 100 + i), "v");
  ASSERT_TRUE(NormalizeEntry(e).ok());
  EXPECT_EQ(e.reason, std::string(kMaxFieldBytes - 1, 'x'));
  EXPECT_EQ(e.detail.size(), kMaxDetailEntries);
}

TEST(AuditEntryTest, RefusesEmptyTenantOrAction) {
  AuditEntry e = Entry("", 1);
  EXPECT_EQ(NormalizeEntry(e).code(), absl::StatusCode::kInvalidArgument);
  e = Entry("acme", 1);
  e.action.clear();
  EXPECT_EQ(NormalizeEntry(e).code(), absl::StatusCode::kInvalidArgument);
  e = Entry(std::string(kMaxTenantBytes + 1, 't'), 1);
  EXPECT_EQ(NormalizeEntry(e).code(), absl::StatusCode::kInvalidArgument);
}

TEST(AuditEntryTest, HashEncodingIsUnambiguous) {
  StoredEntry a = MakeStoredEntry(Entry("acme", 1), 1, kZeroHash);
  StoredEntry b = a;
  a.principal = "ab";
  a.action = "c";
  b.principal = "a";
  b.action = "bc";
  EXPECT_NE(EntryHash(a), EntryHash(b));
  EXPECT_EQ(EntryHash(a).size(), 64u);
}

TEST(AuditLogTest, AppendFlushQueryRoundTrip) {
  AuditDir dir;
  auto log = dir.Open();
  AuditEntry e = Entry("acme", 7);
  e.detail = {{"model", "gpt-4o"}, {"limit", "1000"}};
  ASSERT_TRUE(log->Append(e).ok());
  ASSERT_TRUE(log->Flush().ok());
  absl::StatusOr<AuditPage> page = log->Query("acme", 0, kAllTime, 0, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records.size(), 1u);
  const AuditRecord& r = page->records[0];
  EXPECT_EQ(r.seq, 1);
  EXPECT_EQ(r.prev_hash, kZeroHash);
  EXPECT_EQ(r.entry.principal, e.principal);
  EXPECT_EQ(r.entry.action, e.action);
  EXPECT_EQ(r.entry.time_ms, e.time_ms);
  EXPECT_EQ(r.entry.remote_addr, e.remote_addr);
  EXPECT_EQ(r.entry.resource, e.resource);
  EXPECT_EQ(r.entry.outcome, AuditOutcome::kDenied);
  EXPECT_EQ(r.entry.reason, "missing scope");
  EXPECT_EQ(r.entry.request_id, "req_7");
  EXPECT_EQ(r.entry.detail, e.detail);
  EXPECT_FALSE(page->next_after_seq.has_value());
}

TEST(AuditLogTest, ZeroTimeTakesTheClock) {
  AuditDir dir;
  FakeClock clock;
  AuditLog::Options options = dir.Options();
  options.clock = &clock;
  auto log = AuditLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  AuditEntry e = Entry("acme", 1);
  e.time_ms = 0;
  ASSERT_TRUE((*log)->Append(e).ok());
  ASSERT_TRUE((*log)->Flush().ok());
  auto page = (*log)->Query("acme", 0, kAllTime, 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].entry.time_ms, 1'700'000'000'000);
}

TEST(AuditLogTest, ManyTenantsVerifyClean) {
  AuditDir dir;
  {
    auto log = dir.Open();
    for (int round = 0; round < 3; ++round) {
      for (int t = 0; t < 20; ++t) {
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(Entry(StrCat("t", t), i)).ok());
      }
      ASSERT_TRUE(log->Flush().ok());
    }
  }
  absl::StatusOr<VerifyReport> report = VerifyAuditLog(dir.db(), dir.public_key(), std::nullopt);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << report->Summary();
  EXPECT_EQ(report->tenants_checked, 20);
  EXPECT_EQ(report->entries_checked, 300);
  EXPECT_EQ(report->checkpoints_checked, 60);
}

TEST(AuditLogTest, ConcurrentAppendsKeepEveryChainValid) {
  AuditDir dir;
  AuditLog::Options options = dir.Options();
  options.max_delay = std::chrono::milliseconds(5);
  options.max_batch = 64;
  {
    auto log = AuditLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 250; ++i) {
          EXPECT_TRUE((*log)->Append(Entry(StrCat("tenant", (t + i) % 4), i)).ok());
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE((*log)->Flush().ok());
    EXPECT_EQ((*log)->dropped(), 0);
    for (int t = 0; t < 4; ++t) {
      int64_t expected = 1;
      std::optional<int64_t> after = 0;
      while (after.has_value()) {
        auto page = (*log)->Query(StrCat("tenant", t), 0, kAllTime, *after, 100);
        ASSERT_TRUE(page.ok());
        for (const AuditRecord& r : page->records) EXPECT_EQ(r.seq, expected++);
        after = page->next_after_seq;
      }
      EXPECT_EQ(expected, 501);
    }
  }
  auto report = VerifyAuditLog(dir.db(), dir.public_key(), std::nullopt);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << report->Summary();
  EXPECT_EQ(report->entries_checked, 2000);
}

TEST(AuditLogTest, ReopenContinuesTheChain) {
  AuditDir dir;
  {
    auto log = dir.Open();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(Entry("acme", i)).ok());
  }  // the destructor commits what is queued
  {
    auto log = dir.Open();
    for (int i = 5; i < 10; ++i) ASSERT_TRUE(log->Append(Entry("acme", i)).ok());
    ASSERT_TRUE(log->Flush().ok());
    auto page = log->Query("acme", 0, kAllTime, 0, 100);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->records.size(), 10u);
    EXPECT_EQ(page->records[5].seq, 6);
    EXPECT_EQ(page->records[5].prev_hash, page->records[4].hash);
  }
  auto report = VerifyAuditLog(dir.db(), dir.public_key(), std::nullopt);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->Summary();
  EXPECT_EQ(report->checkpoints_checked, 2);
}

TEST(AuditLogTest, QueryPagesAndNeverCrossesTenants) {
  AuditDir dir;
  auto log = dir.Open();
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(log->Append(Entry("a", i)).ok());
    ASSERT_TRUE(log->Append(Entry("b", 100 + i)).ok());
  }
  ASSERT_TRUE(log->Flush().ok());
  std::vector<int64_t> seqs;
  std::optional<int64_t> after = 0;
  int pages = 0;
  while (after.has_value()) {
    auto page = log->Query("a", 0, kAllTime, *after, 10);
    ASSERT_TRUE(page.ok());
    ++pages;
    for (const AuditRecord& r : page->records) {
      EXPECT_EQ(r.entry.tenant, "a");
      EXPECT_LT(r.entry.time_ms, 1'700'000'000'100);  // none of b's entries
      seqs.push_back(r.seq);
    }
    after = page->next_after_seq;
  }
  EXPECT_EQ(seqs.size(), 25u);
  EXPECT_EQ(seqs.front(), 1);
  EXPECT_EQ(seqs.back(), 25);
  EXPECT_EQ(pages, 3);
  auto none = log->Query("c", 0, kAllTime, 0, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->records.empty());
}

TEST(AuditLogTest, QueryTimeRangeIsHalfOpen) {
  AuditDir dir;
  auto log = dir.Open();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(Entry("a", i)).ok());
  ASSERT_TRUE(log->Flush().ok());
  auto page = log->Query("a", 1'700'000'000'003, 1'700'000'000'006, 0, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 3u);
  EXPECT_EQ(page->records[0].entry.time_ms, 1'700'000'000'003);
  EXPECT_EQ(page->records[2].entry.time_ms, 1'700'000'000'005);
}

TEST(AuditLogTest, AdminQueryPagesAcrossTenantsInTimeOrder) {
  AuditDir dir;
  auto log = dir.Open();
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(log->Append(Entry("a", i)).ok());
    ASSERT_TRUE(log->Append(Entry("b", i)).ok());
  }
  ASSERT_TRUE(log->Flush().ok());
  std::vector<std::pair<int64_t, std::string>> seen;
  std::optional<AdminCursor> after = AdminCursor{};
  while (after.has_value()) {
    auto page = log->AdminQueryAllTenants(0, kAllTime, *after, 4);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const AuditRecord& r : page->records) seen.emplace_back(r.entry.time_ms, r.entry.tenant);
    after = page->next;
  }
  ASSERT_EQ(seen.size(), 14u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen[0], std::make_pair(int64_t{1'700'000'000'000}, std::string("a")));
  EXPECT_EQ(seen[1], std::make_pair(int64_t{1'700'000'000'000}, std::string("b")));
}

TEST(AuditLogTest, FullQueueDropsAndCounts) {
  AuditDir dir;
  AuditLog::Options options = dir.Options();
  options.max_queue = 2;
  auto log = AuditLog::Open(options);
  ASSERT_TRUE(log.ok());
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    absl::Status s = (*log)->Append(Entry("a", i));
    if (!s.ok()) {
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
      ++refused;
    }
  }
  // The writer holds entries until max_delay (30 s) or a Flush, so the queue
  // of two is full after two appends, three at most if it took one batch.
  EXPECT_GE(refused, 7);
  EXPECT_EQ((*log)->dropped(), refused);
  EXPECT_TRUE((*log)->Flush().ok());
}

TEST(AuditLogTest, KeysAreCreatedWithPrivateMode0600) {
  AuditDir dir;
  auto log = dir.Open();
  struct stat st;
  ASSERT_EQ(::stat(dir.private_key().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.public_key().c_str(), &st), 0);
  EXPECT_EQ(log->key_id().size(), 16u);
}

TEST(AuditLogTest, RefusesAPublicKeyWithoutItsPrivateKey) {
  AuditDir dir;
  { auto log = dir.Open(); }
  std::filesystem::remove(dir.private_key());
  auto log = AuditLog::Open(dir.Options());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition) << log.status();
}

TEST(AuditLogTest, RefusesAPublicKeyThatDoesNotMatch) {
  AuditDir dir, other;
  { auto log = dir.Open(); }
  { auto log = other.Open(); }
  std::filesystem::copy_file(other.public_key(), dir.public_key(),
                             std::filesystem::copy_options::overwrite_existing);
  auto log = AuditLog::Open(dir.Options());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition) << log.status();
}

TEST(AuditLogTest, RefusesAKeyFileThatIsNotAKey) {
  AuditDir dir;
  std::ofstream(dir.private_key()) << "not a key\n";
  auto log = AuditLog::Open(dir.Options());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument) << log.status();
}

TEST(AuditLogTest, TablesRefuseUpdateAndDeleteThroughSql) {
  AuditDir dir;
  {
    auto log = dir.Open();
    ASSERT_TRUE(log->Append(Entry("a", 1)).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_entries SET outcome = 'ok'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit_checkpoints", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace
}  // namespace basalt::audit
