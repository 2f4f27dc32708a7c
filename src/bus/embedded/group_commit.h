// GroupCommitter: one writer thread that owns an SQLite connection and runs
// every write of the embedded bus. Writes that arrive while a commit is in
// flight are gathered and run together in the next transaction, so many
// concurrent submissions share one fsync (group commit) while each still gets
// its answer only after its data is on disk.
//
// A write that fails is rolled back alone and its error goes to its caller; the
// others commit. (The batch first runs without savepoints; if a write fails,
// the transaction is rolled back and the batch runs again with a SAVEPOINT
// around each write, so writes must be safe to run twice: they recompute
// everything from the database.) When the COMMIT itself fails, every write of
// the batch gets that error (nothing was stored).
//
//   absl::StatusOr<Job> r = co_await committer.Run<absl::StatusOr<Job>>(
//       [&](sqlite::Connection& c) { return InsertJob(c, job); });
//
// The function runs on the writer thread while the awaiting coroutine is
// suspended, so it may refer to the coroutine's locals. The coroutine resumes
// on its own executor. Bounded: past `max_pending` queued writes, Run answers
// kResourceExhausted at once without running anything.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/sqlite/connection.h"

namespace basalt::bus {

class GroupCommitter {
 public:
  struct Options {
    size_t max_pending = 65536;  // queued writes before kResourceExhausted
    size_t max_batch = 4096;     // writes per transaction
  };
  GroupCommitter(std::unique_ptr<sqlite::Connection> conn, Options options);
  ~GroupCommitter();  // runs what is queued, then stops the thread
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Called on the writer thread after every successful commit. Must not block.
  void SetAfterCommit(std::function<void()> callback) { after_commit_ = std::move(callback); }

  template <class R>
  boost::asio::awaitable<R> Run(std::function<R(sqlite::Connection&)> fn) {
    auto initiation = [this, fn = std::move(fn)](auto handler) mutable {
      auto result = std::make_shared<R>(absl::UnknownError("write not run"));
      auto resume_on = boost::asio::get_associated_executor(handler);
      auto shared_handler = std::make_shared<decltype(handler)>(std::move(handler));
      Op op;
      op.run = [fn = std::move(fn), result](sqlite::Connection& c) {
        *result = fn(c);
        return StatusOf(*result);
      };
      op.done = [result, resume_on, shared_handler](const absl::Status& commit) {
        if (!commit.ok()) *result = R(commit);
        boost::asio::post(resume_on, [result, shared_handler]() mutable {
          std::move (*shared_handler)(std::move(*result));
        });
      };
      if (absl::Status s = Enqueue(std::move(op)); !s.ok()) {
        *result = R(s);
        boost::asio::post(resume_on, [result, shared_handler]() mutable {
          std::move (*shared_handler)(std::move(*result));
        });
      }
    };
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(R)>(
        std::move(initiation), boost::asio::use_awaitable);
  }

  // Writes queued or running (for the gauge and tests).
  size_t Pending() const;
  // Transactions committed and writes in them, since start (for metrics).
  uint64_t Commits() const { return commits_.load(std::memory_order_relaxed); }
  uint64_t Writes() const { return writes_.load(std::memory_order_relaxed); }

 private:
  struct Op {
    std::function<absl::Status(sqlite::Connection&)> run;
    std::function<void(const absl::Status&)> done;
  };
  static absl::Status StatusOf(const absl::Status& s) { return s; }
  template <class T>
  static absl::Status StatusOf(const absl::StatusOr<T>& s) {
    return s.status();
  }

  absl::Status Enqueue(Op op);
  void Loop();
  absl::Status CommitBatch(std::deque<Op>& batch);
  absl::Status RunBatch(std::deque<Op>& batch, bool savepoints);

  std::unique_ptr<sqlite::Connection> conn_;
  const Options options_;
  std::function<void()> after_commit_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Op> queue_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> commits_{0}, writes_{0};
  std::thread thread_;
};

}  // namespace basalt::bus
