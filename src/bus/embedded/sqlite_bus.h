// SqliteBus: the embedded Bus adapter (bus.h) on one SQLite file in WAL mode,
// for a single machine. Writes go through a GroupCommitter (one writer thread,
// one transaction and one fsync for every batch of concurrent writes, with
// synchronous=FULL so a returned write is on disk); reads use a small pool of
// read connections on the BlockingPool, which under WAL never wait for the
// writer. Several processes (`basalt serve` and `basalt worker`) may open the
// same file: SQLite's lock serialises their writers, and each process sees the
// others' work by polling (OnChange only fires for this process's commits).
//
// Fair leasing: Lease walks the tenants that have ready jobs in name order,
// starting after the tenant it served last (a per-process cursor), and takes
// one job per tenant per round, so tenants share workers equally whatever
// their backlog. Each lookup is an index seek on the partial index of ready
// jobs, so the cost does not grow with the backlog.
#pragma once

#include <atomic>
#include <condition_variable>
#include <thread>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bus/bus.h"
#include "bus/embedded/group_commit.h"
#include "core/blocking_pool.h"
#include "core/clock.h"
#include "store/sqlite/connection_pool.h"

namespace basalt::bus {

struct SqliteBusOptions {
  int busy_timeout_ms = 5000;
  int read_connections = 4;
  size_t max_pending_writes = 65536;
};

class SqliteBus final : public Bus {
 public:
  // Opens (creating and migrating) the database at `path`.
  static absl::StatusOr<std::unique_ptr<SqliteBus>> Open(const std::string& path,
                                                         const SqliteBusOptions& options,
                                                         BlockingPool& pool, const Clock& clock);
  ~SqliteBus() override;

  boost::asio::awaitable<absl::StatusOr<EnqueueResult>> Enqueue(NewJob job,
                                                                std::vector<Event> events) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<EnqueueResult>>> EnqueueMany(
      std::vector<NewJob> jobs, std::vector<Event> events) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> Lease(
      std::string queue, int max, std::chrono::milliseconds visibility, LeaseEvents on_lease,
      LeaseEvents on_dead) override;
  boost::asio::awaitable<absl::Status> Extend(std::string id, std::string lease_token,
                                              std::chrono::milliseconds visibility) override;
  boost::asio::awaitable<absl::StatusOr<Job>> Complete(std::string id, std::string lease_token,
                                                       std::string result,
                                                       std::vector<Event> events) override;
  boost::asio::awaitable<absl::StatusOr<Job>> Fail(
      std::string id, std::string lease_token, std::string error,
      std::optional<std::chrono::milliseconds> retry_after, std::vector<Event> events) override;
  boost::asio::awaitable<absl::Status> Release(std::string id, std::string lease_token) override;
  boost::asio::awaitable<absl::StatusOr<Job>> Cancel(std::string tenant, std::string id,
                                                     std::string error,
                                                     std::vector<Event> events) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> Redrive(
      std::string tenant, std::string queue, std::vector<std::string> ids, int limit,
      LeaseEvents on_redrive) override;
  boost::asio::awaitable<absl::StatusOr<Job>> Get(std::string tenant, std::string id) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> List(JobFilter filter) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> ListGroup(
      std::string tenant, std::string group_id) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<QueueStats>>> Stats(
      std::string tenant) override;
  boost::asio::awaitable<absl::Status> Publish(std::vector<Event> events) override;
  boost::asio::awaitable<absl::Status> AdminDeleteTenant(std::string tenant) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<Event>>> EventsAfter(int64_t after,
                                                                         int limit,
                                                                         bool bodies) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<Event>>> EventsFor(std::string tenant,
                                                                       std::string subject,
                                                                       int64_t after) override;
  boost::asio::awaitable<absl::StatusOr<int64_t>> GetCursor(std::string name) override;
  boost::asio::awaitable<absl::Status> AdvanceCursor(std::string name, int64_t seq,
                                                     std::vector<NewJob> jobs,
                                                     std::vector<Event> events) override;
  void OnChange(std::function<void(int changes, std::string_view queue)> callback) override;

  // Writes queued or running in the committer; transactions and writes so far.
  size_t PendingWrites() const { return committer_->Pending(); }
  uint64_t Commits() const { return committer_->Commits(); }
  uint64_t Writes() const { return committer_->Writes(); }

 private:
  SqliteBus(std::unique_ptr<GroupCommitter> committer,
            std::unique_ptr<sqlite::ConnectionPool> readers, BlockingPool& pool,
            const Clock& clock);
  int64_t NowMs() const;
  void Notify(int changes, std::string_view queue = {});
  // Runs `fn` with a read connection on the blocking pool.
  template <class R>
  boost::asio::awaitable<R> Read(std::function<R(sqlite::Connection&)> fn);
  // On the writer thread: the next tenant after the last one served.
  std::string& LeaseCursor(const std::string& queue);

  std::unique_ptr<GroupCommitter> committer_;
  std::unique_ptr<sqlite::ConnectionPool> readers_;
  BlockingPool& pool_;
  const Clock& clock_;
  absl::flat_hash_map<std::string, std::string> lease_cursor_;  // writer thread only
  void StartCheckpointer(std::unique_ptr<sqlite::Connection> conn);

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_wake_;
  bool stopping_ = false;
  std::thread checkpoint_thread_;
  std::mutex listeners_mu_;
  std::vector<std::function<void(int, std::string_view)>> listeners_;
};

}  // namespace basalt::bus
