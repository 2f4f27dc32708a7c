// Bus: the port for basalt's durable queue and event log. Every pattern that
// defers work (async requests, webhook deliveries, document ingestion, workflow
// steps) puts it on a queue; every change of state is an event.
//
// Queue. A job is enqueued with an optional idempotency key, a priority and a
// not-before time, then leased by a worker for a visibility timeout. The worker
// extends the lease while it works and finally completes the job (keeping its
// result), fails it (retry after a delay, or dead-letter it), or releases it
// (back to the queue without spending an attempt, on shutdown). A lease that
// runs out makes the job ready again and counts as a failed attempt. Dead jobs
// are redriven back to the queue. Jobs stay as records after they end (like
// BullMQ's completed/failed sets) so callers can read results; the record is the
// single source of truth for a job's state, and a stale worker (lease lost to
// expiry or cancellation) cannot change it: every lease-holding call checks the
// lease token.
//
// Fairness. Lease hands out ready jobs round-robin across tenants (equal
// weights), and within one tenant by priority (higher first), then first in,
// first out. One tenant's backlog never starves another tenant.
//
// Events. Every state-changing call takes the events that describe the change
// and appends them in the same transaction (a transactional outbox), so an
// event exists if and only if its change happened. Events are read back in
// order by sequence number (the dispatcher that feeds rules) or by subject (a
// request's history).
//
// How each operation maps onto the scale-out adapters (later issue):
//   operation      PostgreSQL                           NATS JetStream
//   Enqueue        INSERT ... ON CONFLICT (tenant,      job record in a KV bucket (create
//                  queue, idem_key) DO NOTHING, plus      = idempotency), id published to a
//                  INSERT into events, one transaction    work-queue stream subject
//                                                         queue.<queue>.<tenant>; Nats-Msg-Id
//                                                         dedupes within the window
//   Lease          SELECT ... FOR UPDATE SKIP LOCKED     pull consumer Fetch per tenant
//                  per tenant in rotation, UPDATE state   subject in rotation; AckWait = the
//                  = leased, lease_until, token           visibility timeout
//   Extend         UPDATE ... WHERE token = $t           msg.InProgress()
//   Complete/Fail  UPDATE ... WHERE token = $t, plus     KV update with revision check, then
//                  events, one transaction                Ack / Nak(delay) / Term + publish to
//                                                         the DLQ stream
//   Release        UPDATE state = ready                   Nak(0)
//   Redrive        UPDATE dead -> ready                   republish from the DLQ stream
//   events         events table with a BIGSERIAL seq      a stream events.<tenant>.<type>;
//                                                         seq = stream sequence
// Nothing in this port assumes SQLite; the embedded adapter (embedded/) is the
// one for a single machine.
//
// All calls are coroutines for io threads; adapters never block the caller's
// thread. Errors: kInvalidArgument naming the field; kNotFound for an unknown
// id (also another tenant's); kFailedPrecondition when a lease is no longer
// held or a job is not in a state the call needs (the message says which);
// kResourceExhausted when the adapter's write queue is full (the HTTP layer
// answers 429); kUnavailable when the storage is busy or failing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt::bus {

enum class JobState {
  kReady = 0,      // waiting; not_before may still be in the future
  kLeased = 2,     // a worker holds it
  kSucceeded = 3,  // completed; `result` holds the outcome
  kDead = 4,       // failed for good; in the dead-letter queue
  kCancelled = 5,  // cancelled before it ended
};
std::string_view JobStateName(JobState state);  // "ready", "leased", ...
bool IsTerminal(JobState state);

struct Event {
  std::string id;           // unique, e.g. evt_01J...
  std::string tenant;
  std::string type;         // EventBridge detail-type
  std::string subject;      // what it is about (a request id), for history reads
  std::string body;         // the whole event as JSON text (the envelope)
  int64_t time_ms = 0;
  int64_t seq = 0;          // set by the bus: strictly increasing
  // kFlagWanted: a reader that skips bodies still needs this one (e.g. a
  // request's terminal event that must reach its callback URL).
  static constexpr int kFlagWanted = 1;
  int flags = 0;
};

struct NewJob {
  std::string id;            // chosen by the caller, unique
  std::string queue;         // e.g. "genai", "webhooks"
  std::string tenant;
  std::string payload;       // JSON text, opaque to the bus
  std::string idempotency_key;   // empty: none
  int64_t idempotency_window_ms = 24LL * 3600 * 1000;
  int priority = 0;          // higher first within a tenant
  int64_t not_before_ms = 0; // 0: now
  int max_attempts = 3;
  std::string group_id;      // e.g. a batch id; empty: none
  int64_t group_seq = 0;     // order within the group
  std::string request_hash;  // for idempotency conflicts: same key, other body
};

struct Job {
  std::string id, queue, tenant, payload, idempotency_key, group_id, request_hash;
  std::string result;   // JSON text, set by Complete
  std::string error;    // JSON text of the last failure
  JobState state = JobState::kReady;
  int priority = 0;
  int attempts = 0;     // leases so far
  int max_attempts = 0;
  int64_t group_seq = 0;
  int64_t not_before_ms = 0, lease_until_ms = 0;
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0, updated_ms = 0;
  std::string lease_token;  // set on jobs returned by Lease
};

struct EnqueueResult {
  Job job;
  bool created = true;  // false: the idempotency key matched an existing job
};

// Called inside the transaction for each job being leased, after its attempt
// count is raised: the events to append (e.g. "processing").
using LeaseEvents = std::function<std::vector<Event>(const Job&)>;

struct JobFilter {
  std::string tenant;     // required
  std::string queue;      // required
  std::optional<JobState> state;
  std::string group_id;   // only jobs of this group
  std::string before_id;  // cursor: ids strictly older (newest first order)
  int limit = 100;        // 1..10000
  // Extra predicate on the payload, evaluated by the adapter after the
  // indexed filters (e.g. the model name); empty = none.
  std::function<bool(const Job&)> where;
};

struct QueueStats {
  std::string queue, tenant;
  int64_t ready = 0, delayed = 0, leased = 0, dead = 0;
  int64_t oldest_ready_ms = 0;  // created_ms of the oldest ready job; 0 when none
};

class Bus {
 public:
  virtual ~Bus() = default;

  // Durable when this returns OK. With an idempotency key already used within
  // its window in the same tenant and queue, returns the existing job with
  // created = false and appends no events.
  virtual boost::asio::awaitable<absl::StatusOr<EnqueueResult>> Enqueue(
      NewJob job, std::vector<Event> events) = 0;
  // All or nothing: one transaction (batches of records).
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<EnqueueResult>>> EnqueueMany(
      std::vector<NewJob> jobs, std::vector<Event> events) = 0;

  // Up to `max` ready jobs whose not_before has passed, fairly across tenants,
  // leased for `visibility`. Expired leases of the queue are reclaimed first:
  // the job is ready again, or dead when it has no attempts left (error code
  // "lease_expired"), with `on_dead`'s events.
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> Lease(
      std::string queue, int max, std::chrono::milliseconds visibility, LeaseEvents on_lease,
      LeaseEvents on_dead) = 0;
  virtual boost::asio::awaitable<absl::Status> Extend(std::string id, std::string lease_token,
                                                      std::chrono::milliseconds visibility) = 0;
  virtual boost::asio::awaitable<absl::StatusOr<Job>> Complete(std::string id,
                                                               std::string lease_token,
                                                               std::string result,
                                                               std::vector<Event> events) = 0;
  // retry_after set: ready again after that delay. Unset: dead.
  virtual boost::asio::awaitable<absl::StatusOr<Job>> Fail(
      std::string id, std::string lease_token, std::string error,
      std::optional<std::chrono::milliseconds> retry_after, std::vector<Event> events) = 0;
  // Back to ready at once, giving back the attempt (shutdown drain).
  virtual boost::asio::awaitable<absl::Status> Release(std::string id,
                                                       std::string lease_token) = 0;
  // Ready or leased -> cancelled. kFailedPrecondition naming the state when it
  // has already ended.
  virtual boost::asio::awaitable<absl::StatusOr<Job>> Cancel(std::string tenant, std::string id,
                                                             std::string error,
                                                             std::vector<Event> events) = 0;
  // Dead -> ready with attempts reset. Empty ids: the oldest `limit`. Returns
  // the jobs redriven; `on_redrive` gives the events to append for each.
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> Redrive(
      std::string tenant, std::string queue, std::vector<std::string> ids, int limit,
      LeaseEvents on_redrive) = 0;

  virtual boost::asio::awaitable<absl::StatusOr<Job>> Get(std::string tenant, std::string id) = 0;
  // Newest first.
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> List(JobFilter filter) = 0;
  // Jobs of one group in group_seq order (a batch's records).
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> ListGroup(
      std::string tenant, std::string group_id) = 0;
  // Per queue and tenant; empty tenant: all tenants.
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<QueueStats>>> Stats(
      std::string tenant) = 0;

  // Removes every job and event of `tenant` (tenant deletion, after its keys
  // were shredded). The event log keeps its sequence numbers; cursors past the
  // removed events are unaffected.
  virtual boost::asio::awaitable<absl::Status> AdminDeleteTenant(std::string tenant) = 0;

  // Appends events with no job change (custom events).
  virtual boost::asio::awaitable<absl::Status> Publish(std::vector<Event> events) = 0;
  // Events with seq > after, in order, at most `limit`. Without `bodies`, only
  // events flagged kFlagWanted carry their body (the rest have it empty).
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<Event>>> EventsAfter(int64_t after,
                                                                                 int limit,
                                                                                 bool bodies) = 0;
  // A subject's events with seq > after, in order.
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<Event>>> EventsFor(
      std::string tenant, std::string subject, int64_t after) = 0;

  // A named, durable cursor (the dispatcher's position in the event log).
  virtual boost::asio::awaitable<absl::StatusOr<int64_t>> GetCursor(std::string name) = 0;
  // Sets the cursor, enqueues `jobs` (deliveries; a job whose idempotency key
  // was already used is skipped, and so are the events whose subject is that
  // job's id) and appends `events`, in one transaction.
  virtual boost::asio::awaitable<absl::Status> AdvanceCursor(std::string name, int64_t seq,
                                                             std::vector<NewJob> jobs,
                                                             std::vector<Event> events) = 0;

  // Called after this process's writes that may have made jobs ready
  // (kJobsReady) or appended events (kEventsAppended); other processes' writes
  // are seen by polling. The callback runs on an adapter thread and must not
  // block; it may fire once per write, so coalesce. `queue` names the queue
  // whose jobs became ready, or is empty when it may be any.
  enum Change : int { kJobsReady = 1, kEventsAppended = 2 };
  virtual void OnChange(std::function<void(int changes, std::string_view queue)> callback) = 0;
};

}  // namespace basalt::bus
