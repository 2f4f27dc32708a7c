// AuditLog: the tamper-evident audit log. Per tenant, an append-only chain of
// entries (audit_entry.h), each holding the SHA-256 of the one before, with
// sequence numbers 1, 2, 3, ... and no gaps; after every committed batch, one
// Ed25519-signed checkpoint (checkpoint.h) per tenant the batch touched.
// verify.h checks a log file against the public key.
//
// Storage: its own SQLite file in WAL mode, written by one background thread
// from a bounded queue. The writer commits a batch when it holds
// `max_batch` entries or `max_delay` after the first entry of the batch
// arrived (or at once when someone Flush()es), in one transaction together
// with the batch's checkpoints. So the signed tail of each tenant is always
// its last committed entry; what a crash can lose is what was still queued
// (at most `max_delay` of entries, or the queue when the disk stalls).
// Cost: one checkpoint row (~250 bytes) per tenant per batch, so a tenant
// that writes steadily adds about 10 a second at the default max_delay.
//
// Tamper evidence: editing, removing or reordering entries breaks the chain;
// removing the tail is seen against the signed checkpoints. What the file
// alone cannot show: removing the tail of a tenant's entries together with
// every checkpoint after the cut, when the cut falls exactly at a batch
// boundary (the result is a shorter, validly signed log). Keep the latest
// checkpoints somewhere else (the verifier prints them) to catch that.
//
// Thread-safety: Append, Flush, dropped() and the queries may be called from
// any thread. Append never blocks on I/O (a short mutex only), so io threads
// may call it; the queries are blocking SQLite reads on their own connection,
// for the blocking pool.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "tenancy/audit/audit_entry.h"
#include "tenancy/audit/checkpoint.h"

namespace basalt::audit {

namespace internal {
class Db;
}

// An entry as read back: the entry and its place in the chain.
struct AuditRecord {
  AuditEntry entry;
  int64_t seq = 0;
  std::string prev_hash;
  std::string hash;
};

struct AuditPage {
  std::vector<AuditRecord> records;  // ascending seq
  // Pass as `after_seq` for the next page; empty on the last page.
  std::optional<int64_t> next_after_seq;
};

// Position in the cross-tenant order (time_ms, tenant, seq). The default
// starts at the beginning.
struct AdminCursor {
  int64_t time_ms = std::numeric_limits<int64_t>::min();
  std::string tenant;
  int64_t seq = 0;
};

struct AdminAuditPage {
  std::vector<AuditRecord> records;  // ascending (time_ms, tenant, seq)
  std::optional<AdminCursor> next;   // empty on the last page
};

class AuditLog {
 public:
  struct Options {
    std::string db_path;
    // Ed25519 keys, generated when missing (see CheckpointSigner). The app
    // keeps them in a directory apart from the database; in production the
    // private key belongs on another volume or in a secret store.
    std::string private_key_path;
    std::string public_key_path;
    size_t max_queue = 65536;  // queued entries before Append refuses
    size_t max_batch = 1000;   // entries per transaction
    std::chrono::milliseconds max_delay{100};
    const Clock* clock = nullptr;  // RealClock when null
  };

  // Opens (creating) the database and the keys and reads each tenant's last
  // seq and hash back, so the chains continue across restarts. kUnavailable
  // when the database cannot be opened; key errors as CheckpointSigner's.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(Options options);
  // Commits everything queued, then stops the writer.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues `entry` and returns at once. time_ms 0 takes the clock's now;
  // over-long fields are cut (NormalizeEntry). kInvalidArgument for an empty
  // tenant or action; kResourceExhausted when the queue is full (the entry is
  // dropped and counted in dropped()); kUnavailable while shutting down.
  // Callers on the request path may ignore the result: a full queue means the
  // disk is not keeping up, and refusing the request would not help it.
  absl::Status Append(AuditEntry entry);

  // Waits until every entry queued before the call is committed (or failed).
  // Returns the error of a commit that failed since the previous Flush, if
  // any (its entries were lost and counted in write_failures()); with several
  // concurrent Flush callers one of them gets it. For tests and shutdown.
  absl::Status Flush();

  // Entries of `tenant` with from_ms <= time_ms < to_ms and seq > after_seq,
  // ascending by seq, at most `limit` (clamped to 1..1000). Scoped: never
  // returns another tenant's entries.
  absl::StatusOr<AuditPage> Query(const std::string& tenant, int64_t from_ms, int64_t to_ms,
                                  int64_t after_seq, int limit) const;
  // Every tenant's entries with from_ms <= time_ms < to_ms after `after`, in
  // (time_ms, tenant, seq) order. For operators only: the caller checks that
  // the principal is an administrator.
  absl::StatusOr<AdminAuditPage> AdminQueryAllTenants(int64_t from_ms, int64_t to_ms,
                                                      const AdminCursor& after, int limit) const;

  // Entries refused because the queue was full, since open.
  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Entries lost because their commit failed, since open.
  int64_t write_failures() const { return write_failures_.load(std::memory_order_relaxed); }
  const std::string& key_id() const { return signer_->key_id(); }

 private:
  struct Head {
    int64_t seq = 0;
    std::string hash = kZeroHash;
    int64_t checkpoints = 0;
  };

  AuditLog(Options options, std::unique_ptr<internal::Db> writer,
           std::unique_ptr<internal::Db> reader, std::unique_ptr<CheckpointSigner> signer,
           absl::flat_hash_map<std::string, Head> heads);
  void Loop();
  // Writes `batch` and its checkpoints in one transaction; on success the
  // new heads replace the old in heads_.
  absl::Status CommitBatch(const std::vector<AuditEntry>& batch);
  absl::Status CommitWithRetry(const std::vector<AuditEntry>& batch);
  int64_t NowMs() const;

  const Options options_;
  const Clock& clock_;
  std::unique_ptr<internal::Db> writer_db_;  // writer thread only
  // Reads share one connection; reader_mu_ serialises them.
  mutable std::mutex reader_mu_;
  std::unique_ptr<internal::Db> reader_db_;
  std::unique_ptr<CheckpointSigner> signer_;
  // Each tenant's last committed entry. Writer thread only (filled before it
  // starts), so it needs no lock.
  absl::flat_hash_map<std::string, Head> heads_;

  std::mutex mu_;
  std::condition_variable wake_;   // the writer waits for work
  std::condition_variable done_;   // Flush waits for the writer
  std::deque<AuditEntry> queue_;   // guarded by mu_
  uint64_t enqueued_ = 0;          // entries ever queued; guarded by mu_
  uint64_t finished_ = 0;          // entries committed or failed; guarded by mu_
  int flush_waiters_ = 0;          // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  absl::Status unreported_error_;  // guarded by mu_
  std::atomic<int64_t> dropped_{0};
  std::atomic<int64_t> write_failures_{0};
  std::thread thread_;
};

}  // namespace basalt::audit
