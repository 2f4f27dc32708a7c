#include "tenancy/audit/audit_log.h"

#include <algorithm>
#include <utility>

#include "core/log.h"
#include "core/strings.h"
#include "tenancy/audit/audit_db.h"

namespace basalt::audit {

using internal::Db;
using internal::Stmt;

namespace {

// The next tenant after `after` in `table` (by key order); empty when none.
absl::StatusOr<std::optional<std::string>> NextTenant(Db& db, const char* table,
                                                      const std::string& after) {
  absl::StatusOr<Stmt> stmt = db.Prepare(
      StrCat("SELECT tenant FROM ", table, " WHERE tenant > ?1 ORDER BY tenant LIMIT 1"));
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->Bind(1, after); !s.ok()) return s;
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->Text(0));
}

// Runs `sql` (one ?1 = tenant) and hands its first row, if any, to `read`.
template <class Read>
absl::Status LastRow(Db& db, std::string_view sql, const std::string& tenant, Read read) {
  absl::StatusOr<Stmt> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->Bind(1, tenant); !s.ok()) return s;
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (*row) read(*stmt);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Options options) {
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer =
      CheckpointSigner::LoadOrCreate(options.private_key_path, options.public_key_path);
  if (!signer.ok()) return signer.status();
  absl::StatusOr<std::unique_ptr<Db>> writer = Db::Open(options.db_path, /*read_only=*/false);
  if (!writer.ok()) return writer.status();
  absl::StatusOr<std::unique_ptr<Db>> reader = Db::Open(options.db_path, /*read_only=*/true);
  if (!reader.ok()) return reader.status();

  // One indexed lookup per tenant (not a scan of every entry), so opening a
  // large log stays fast.
  absl::flat_hash_map<std::string, Head> heads;
  for (const char* table : {"audit_entries", "audit_checkpoints"}) {
    std::string after;
    for (;;) {
      absl::StatusOr<std::optional<std::string>> tenant = NextTenant(**writer, table, after);
      if (!tenant.ok()) return tenant.status();
      if (!tenant->has_value()) break;
      after = **tenant;
      heads.try_emplace(after);
    }
  }
  for (auto& [tenant, head] : heads) {
    absl::Status s = LastRow(
        **writer, "SELECT seq, hash FROM audit_entries WHERE tenant = ?1 ORDER BY seq DESC LIMIT 1",
        tenant, [&head](const Stmt& row) {
          head.seq = row.Int(0);
          head.hash = row.Text(1);
        });
    Checkpoint last;
    if (s.ok()) {
      s = LastRow(**writer,
                  StrCat("SELECT ", internal::kCheckpointColumns,
                         " FROM audit_checkpoints WHERE tenant = ?1 ORDER BY number DESC LIMIT 1"),
                  tenant, [&last](const Stmt& row) { last = internal::ReadCheckpoint(row); });
    }
    if (!s.ok()) return s;
    head.checkpoints = last.number;
    if (last.number > 0 && (last.seq != head.seq || last.hash != head.hash)) {
      log::Warn("audit log tail does not match its last checkpoint; run `basalt audit verify`",
                {{"tenant", tenant}, {"seq", head.seq}, {"checkpoint_seq", last.seq}});
    }
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(options), std::move(*writer),
                                                std::move(*reader), std::move(*signer),
                                                std::move(heads)));
}

AuditLog::AuditLog(Options options, std::unique_ptr<Db> writer, std::unique_ptr<Db> reader,
                   std::unique_ptr<CheckpointSigner> signer,
                   absl::flat_hash_map<std::string, Head> heads)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : RealClock::Instance()),
      writer_db_(std::move(writer)),
      reader_db_(std::move(reader)),
      signer_(std::move(signer)),
      heads_(std::move(heads)) {
  thread_ = std::thread([this] { Loop(); });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

int64_t AuditLog::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
      .count();
}

absl::Status AuditLog::Append(AuditEntry entry) {
  if (absl::Status s = NormalizeEntry(entry); !s.ok()) return s;
  if (entry.time_ms == 0) entry.time_ms = NowMs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the audit log is shutting down");
    if (queue_.size() >= options_.max_queue) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return absl::ResourceExhaustedError("the audit log's queue is full; entry dropped");
    }
    queue_.push_back(std::move(entry));
    ++enqueued_;
  }
  wake_.notify_one();
  return absl::OkStatus();
}

absl::Status AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_;
  ++flush_waiters_;
  wake_.notify_one();
  done_.wait(lock, [&] { return finished_ >= target; });
  --flush_waiters_;
  return std::exchange(unreported_error_, absl::OkStatus());
}

void AuditLog::Loop() {
  std::vector<AuditEntry> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is committed
      // Gather for up to max_delay so a burst shares one transaction (and one
      // fsync), unless the batch is full or someone is waiting for it.
      const auto deadline = std::chrono::steady_clock::now() + options_.max_delay;
      wake_.wait_until(lock, deadline, [this] {
        return stopping_ || flush_waiters_ > 0 || queue_.size() >= options_.max_batch;
      });
      const size_t n = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const absl::Status s = CommitWithRetry(batch);
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ += batch.size();
      if (!s.ok()) unreported_error_ = s;
    }
    if (!s.ok()) {
      write_failures_.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
      log::Error(
          "audit entries lost: commit failed",
          {{"entries", static_cast<int64_t>(batch.size())}, {"error", std::string(s.message())}});
    }
    done_.notify_all();
    batch.clear();
  }
}

absl::Status AuditLog::CommitWithRetry(const std::vector<AuditEntry>& batch) {
  // A busy or full disk may recover; three tries over ~0.3 s before the batch
  // is given up, so the queue behind it keeps moving.
  absl::Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 100));
    s = CommitBatch(batch);
    if (s.ok()) return s;
  }
  return s;
}

absl::Status AuditLog::CommitBatch(const std::vector<AuditEntry>& batch) {
  Db& db = *writer_db_;
  // The heads as this batch leaves them; merged into heads_ only after COMMIT
  // so a failed batch leaves the chains where the database has them.
  absl::flat_hash_map<std::string, Head> touched;
  auto fail = [&db](absl::Status s) {
    db.RollbackIfOpen();
    return s;
  };
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return fail(s);
  absl::StatusOr<Stmt> insert = db.Prepare(internal::kInsertEntrySql);
  if (!insert.ok()) return fail(insert.status());
  for (const AuditEntry& entry : batch) {
    auto [it, inserted] = touched.try_emplace(entry.tenant);
    if (inserted) {
      auto old = heads_.find(entry.tenant);
      if (old != heads_.end()) it->second = old->second;
    }
    Head& head = it->second;
    StoredEntry row = MakeStoredEntry(entry, head.seq + 1, head.hash);
    if (absl::Status s = internal::InsertEntry(*insert, row); !s.ok()) return fail(s);
    head.seq = row.seq;
    head.hash = std::move(row.hash);
  }
  int64_t tenants = static_cast<int64_t>(heads_.size());
  for (const auto& [tenant, head] : touched) tenants += heads_.contains(tenant) ? 0 : 1;

  absl::StatusOr<Stmt> insert_checkpoint = db.Prepare(internal::kInsertCheckpointSql);
  if (!insert_checkpoint.ok()) return fail(insert_checkpoint.status());
  const int64_t now = NowMs();
  for (auto& [tenant, head] : touched) {
    Checkpoint c;
    c.tenant = tenant;
    c.number = head.checkpoints + 1;
    c.seq = head.seq;
    c.hash = head.hash;
    c.time_ms = now;
    c.tenants = tenants;
    if (absl::Status s = signer_->Sign(c); !s.ok()) return fail(s);
    if (absl::Status s = internal::InsertCheckpoint(*insert_checkpoint, c); !s.ok()) return fail(s);
    head.checkpoints = c.number;
  }
  if (absl::Status s = db.Exec("COMMIT"); !s.ok()) return fail(s);
  for (auto& [tenant, head] : touched) heads_[tenant] = std::move(head);
  return absl::OkStatus();
}

}  // namespace basalt::audit
