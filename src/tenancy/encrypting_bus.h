// EncryptingBus: a Bus decorator that seals what jobs and events carry — a
// job's payload (prompts, messages, webhook secrets), its result (the model's
// answer) and error, and every event body — with the tenant's data key
// (FieldCipher: table "jobs" or "events", the row's id, the field name) before
// they reach the adapter, and opens them on the way back, including inside
// the adapter's callbacks (lease events, list predicates). Ids, states,
// tenants and times stay in the clear: the queue needs them and they hold no
// content.
//
// A value that fails to open (edited on disk, or moved to another row or
// tenant) makes the call fail with the cipher's error rather than hand out
// garbage. Thread-safety and errors otherwise as the inner Bus.
#pragma once

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "bus/bus.h"
#include "tenancy/field_cipher.h"

namespace basalt::tenancy {

class EncryptingBus final : public bus::Bus {
 public:
  EncryptingBus(bus::Bus& inner, const FieldCipher& cipher) : inner_(inner), cipher_(cipher) {}

  boost::asio::awaitable<absl::StatusOr<bus::EnqueueResult>> Enqueue(
      bus::NewJob job, std::vector<bus::Event> events) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::EnqueueResult>>> EnqueueMany(
      std::vector<bus::NewJob> jobs, std::vector<bus::Event> events) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::Job>>> Lease(
      std::string queue, int max, std::chrono::milliseconds visibility,
      bus::LeaseEvents on_lease, bus::LeaseEvents on_dead) override;
  boost::asio::awaitable<absl::Status> Extend(std::string id, std::string lease_token,
                                              std::chrono::milliseconds visibility) override {
    co_return co_await inner_.Extend(std::move(id), std::move(lease_token), visibility);
  }
  boost::asio::awaitable<absl::StatusOr<bus::Job>> Complete(std::string id,
                                                            std::string lease_token,
                                                            std::string result,
                                                            std::vector<bus::Event> events) override;
  boost::asio::awaitable<absl::StatusOr<bus::Job>> Fail(
      std::string id, std::string lease_token, std::string error,
      std::optional<std::chrono::milliseconds> retry_after,
      std::vector<bus::Event> events) override;
  boost::asio::awaitable<absl::Status> Release(std::string id, std::string lease_token) override;
  boost::asio::awaitable<absl::StatusOr<bus::Job>> Cancel(std::string tenant, std::string id,
                                                          std::string error,
                                                          std::vector<bus::Event> events) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::Job>>> Redrive(
      std::string tenant, std::string queue, std::vector<std::string> ids, int limit,
      bus::LeaseEvents on_redrive) override;
  boost::asio::awaitable<absl::StatusOr<bus::Job>> Get(std::string tenant, std::string id) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::Job>>> List(bus::JobFilter filter) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::Job>>> ListGroup(
      std::string tenant, std::string group_id) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::QueueStats>>> Stats(
      std::string tenant) override {
    co_return co_await inner_.Stats(std::move(tenant));
  }
  boost::asio::awaitable<absl::Status> AdminDeleteTenant(std::string tenant) override {
    co_return co_await inner_.AdminDeleteTenant(std::move(tenant));
  }
  boost::asio::awaitable<absl::Status> Publish(std::vector<bus::Event> events) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::Event>>> EventsAfter(int64_t after,
                                                                              int limit,
                                                                              bool bodies) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::Event>>> EventsFor(
      std::string tenant, std::string subject, int64_t after) override;
  boost::asio::awaitable<absl::StatusOr<int64_t>> GetCursor(std::string name) override {
    co_return co_await inner_.GetCursor(std::move(name));
  }
  boost::asio::awaitable<absl::Status> AdvanceCursor(std::string name, int64_t seq,
                                                     std::vector<bus::NewJob> jobs,
                                                     std::vector<bus::Event> events) override;
  void OnChange(std::function<void(int changes, std::string_view queue)> callback) override {
    inner_.OnChange(std::move(callback));
  }

  // Seal / open in place (public for tests and for callers that build rows).
  absl::Status SealJob(bus::NewJob& job) const;
  absl::Status SealEvents(std::vector<bus::Event>& events) const;
  absl::Status OpenJob(bus::Job& job) const;
  absl::Status OpenJobs(std::vector<bus::Job>& jobs) const;
  absl::Status OpenEvents(std::vector<bus::Event>& events) const;

 private:
  // A lease/redrive callback that sees opened jobs and returns sealed events.
  bus::LeaseEvents Wrap(bus::LeaseEvents inner) const;
  absl::StatusOr<std::string> SealJobField(const std::string& tenant, const std::string& id,
                                           std::string_view field, std::string_view value) const;

  // The tenant of each job this process leased: Complete and Fail name only
  // the job id, and the seal needs the tenant.
  std::string LeasedTenant(const std::string& id, bool forget) const;

  bus::Bus& inner_;
  const FieldCipher& cipher_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, std::string> leased_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::tenancy
