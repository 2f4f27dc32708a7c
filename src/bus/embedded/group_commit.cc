#include "bus/embedded/group_commit.h"

#include "core/log.h"

namespace basalt::bus {

GroupCommitter::GroupCommitter(std::unique_ptr<sqlite::Connection> conn, Options options)
    : conn_(std::move(conn)), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

size_t GroupCommitter::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + running_;
}

absl::Status GroupCommitter::Enqueue(Op op) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the bus is shutting down");
    if (queue_.size() >= options_.max_pending) {
      return absl::ResourceExhaustedError("the queue's write buffer is full; retry later");
    }
    queue_.push_back(std::move(op));
  }
  wake_.notify_one();
  return absl::OkStatus();
}

void GroupCommitter::Loop() {
  std::deque<Op> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      const size_t n = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      running_ = n;
    }
    const absl::Status commit = CommitBatch(batch);
    for (Op& op : batch) op.done(commit);
    writes_.fetch_add(batch.size(), std::memory_order_relaxed);
    batch.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = 0;
    }
    if (commit.ok()) {
      commits_.fetch_add(1, std::memory_order_relaxed);
      if (after_commit_) after_commit_();
    } else {
      log::Error("bus commit failed", {{"error", std::string(commit.message())}});
    }
  }
}

namespace {
absl::Status RunCached(sqlite::Connection& conn, std::string_view sql) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}
}  // namespace

absl::Status GroupCommitter::CommitBatch(std::deque<Op>& batch) {
  // Fast path: every write in one transaction without savepoints. Writes
  // almost never fail, so only when one does is the whole batch rolled back
  // and run again with a savepoint around each write.
  absl::Status s = RunBatch(batch, /*savepoints=*/false);
  if (s.code() == absl::StatusCode::kAborted) s = RunBatch(batch, /*savepoints=*/true);
  return s;
}

// kAborted (nothing stored) when a write failed without savepoints.
absl::Status GroupCommitter::RunBatch(std::deque<Op>& batch, bool savepoints) {
  // IMMEDIATE takes the write lock up front, so another process's writer makes
  // us wait (busy timeout) here rather than fail at COMMIT.
  if (absl::Status s = RunCached(*conn_, "BEGIN IMMEDIATE"); !s.ok()) return s;
  for (Op& op : batch) {
    if (savepoints) {
      if (absl::Status s = RunCached(*conn_, "SAVEPOINT op"); !s.ok()) {
        conn_->RollbackIfOpen();
        return s;
      }
    }
    const absl::Status result = op.run(*conn_);
    if (!savepoints) {
      if (!result.ok()) {
        conn_->RollbackIfOpen();
        return absl::AbortedError("a write failed; retrying the batch with savepoints");
      }
      continue;
    }
    if (!result.ok()) (void)RunCached(*conn_, "ROLLBACK TO op");
    if (absl::Status s = RunCached(*conn_, "RELEASE op"); !s.ok()) {
      conn_->RollbackIfOpen();
      return s;
    }
  }
  if (absl::Status s = RunCached(*conn_, "COMMIT"); !s.ok()) {
    conn_->RollbackIfOpen();
    return s;
  }
  return absl::OkStatus();
}

}  // namespace basalt::bus
