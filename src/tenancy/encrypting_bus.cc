#include "tenancy/encrypting_bus.h"

#include "core/strings.h"

namespace basalt::tenancy {

namespace asio = boost::asio;
using bus::Event;
using bus::Job;
using bus::NewJob;

namespace {
constexpr std::string_view kJobs = "jobs";
constexpr std::string_view kEvents = "events";
}  // namespace

absl::StatusOr<std::string> EncryptingBus::SealJobField(const std::string& tenant,
                                                        const std::string& id,
                                                        std::string_view field,
                                                        std::string_view value) const {
  return cipher_.Seal(tenant, kJobs, id, field, value);
}

absl::Status EncryptingBus::SealJob(NewJob& job) const {
  auto sealed = SealJobField(job.tenant, job.id, "payload", job.payload);
  if (!sealed.ok()) return sealed.status();
  job.payload = *std::move(sealed);
  return absl::OkStatus();
}

absl::Status EncryptingBus::SealEvents(std::vector<Event>& events) const {
  for (Event& e : events) {
    auto sealed = cipher_.Seal(e.tenant, kEvents, e.id, "body", e.body);
    if (!sealed.ok()) return sealed.status();
    e.body = *std::move(sealed);
  }
  return absl::OkStatus();
}

absl::Status EncryptingBus::OpenJob(Job& job) const {
  for (auto [field, value] : {std::pair{"payload", &job.payload}, std::pair{"result", &job.result},
                              std::pair{"error", &job.error}}) {
    auto plain = cipher_.Open(job.tenant, kJobs, job.id, field, *value);
    if (!plain.ok()) return plain.status();
    *value = *std::move(plain);
  }
  return absl::OkStatus();
}

absl::Status EncryptingBus::OpenJobs(std::vector<Job>& jobs) const {
  for (Job& j : jobs) {
    if (absl::Status s = OpenJob(j); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status EncryptingBus::OpenEvents(std::vector<Event>& events) const {
  for (Event& e : events) {
    auto plain = cipher_.Open(e.tenant, kEvents, e.id, "body", e.body);
    if (!plain.ok()) return plain.status();
    e.body = *std::move(plain);
  }
  return absl::OkStatus();
}

bus::LeaseEvents EncryptingBus::Wrap(bus::LeaseEvents inner) const {
  if (!inner) return inner;
  return [this, inner = std::move(inner)](const Job& sealed) -> std::vector<Event> {
    Job job = sealed;
    // A row that does not open cannot be described; the adapter still
    // changes its state, and the read that follows reports the error.
    if (!OpenJob(job).ok()) return {};
    std::vector<Event> events = inner(job);
    if (!SealEvents(events).ok()) return {};
    return events;
  };
}

std::string EncryptingBus::LeasedTenant(const std::string& id, bool forget) const {
  absl::MutexLock lock(&mu_);
  auto it = leased_.find(id);
  if (it == leased_.end()) return "";
  std::string tenant = it->second;
  if (forget) leased_.erase(it);
  return tenant;
}

asio::awaitable<absl::StatusOr<bus::EnqueueResult>> EncryptingBus::Enqueue(
    NewJob job, std::vector<Event> events) {
  // A new job is what we just sealed: hand back the plaintext rather than
  // open what was written (this is the submit path). An idempotent hit
  // returns the stored job, which is opened.
  std::string plain = job.payload;
  if (absl::Status s = SealJob(job); !s.ok()) co_return s;
  if (absl::Status s = SealEvents(events); !s.ok()) co_return s;
  auto r = co_await inner_.Enqueue(std::move(job), std::move(events));
  if (!r.ok()) co_return r;
  if (r->created) {
    r->job.payload = std::move(plain);
  } else if (absl::Status s = OpenJob(r->job); !s.ok()) {
    co_return s;
  }
  co_return r;
}

asio::awaitable<absl::StatusOr<std::vector<bus::EnqueueResult>>> EncryptingBus::EnqueueMany(
    std::vector<NewJob> jobs, std::vector<Event> events) {
  for (NewJob& j : jobs) {
    if (absl::Status s = SealJob(j); !s.ok()) co_return s;
  }
  if (absl::Status s = SealEvents(events); !s.ok()) co_return s;
  auto r = co_await inner_.EnqueueMany(std::move(jobs), std::move(events));
  if (!r.ok()) co_return r;
  for (auto& e : *r) {
    if (absl::Status s = OpenJob(e.job); !s.ok()) co_return s;
  }
  co_return r;
}

asio::awaitable<absl::StatusOr<std::vector<Job>>> EncryptingBus::Lease(
    std::string queue, int max, std::chrono::milliseconds visibility, bus::LeaseEvents on_lease,
    bus::LeaseEvents on_dead) {
  auto jobs = co_await inner_.Lease(std::move(queue), max, visibility, Wrap(std::move(on_lease)),
                                    Wrap(std::move(on_dead)));
  if (!jobs.ok()) co_return jobs;
  {
    absl::MutexLock lock(&mu_);
    for (const Job& j : *jobs) leased_[j.id] = j.tenant;
  }
  if (absl::Status s = OpenJobs(*jobs); !s.ok()) co_return s;
  co_return jobs;
}

asio::awaitable<absl::StatusOr<Job>> EncryptingBus::Complete(std::string id,
                                                             std::string lease_token,
                                                             std::string result,
                                                             std::vector<Event> events) {
  const std::string tenant = LeasedTenant(id, false);
  if (tenant.empty()) {
    co_return absl::FailedPreconditionError(StrCat("job ", id, ": not leased by this process"));
  }
  auto sealed = SealJobField(tenant, id, "result", result);
  if (!sealed.ok()) co_return sealed.status();
  if (absl::Status s = SealEvents(events); !s.ok()) co_return s;
  auto job = co_await inner_.Complete(id, std::move(lease_token), *std::move(sealed),
                                      std::move(events));
  if (job.ok() || job.status().code() == absl::StatusCode::kFailedPrecondition) {
    LeasedTenant(id, true);
  }
  if (!job.ok()) co_return job;
  if (absl::Status s = OpenJob(*job); !s.ok()) co_return s;
  co_return job;
}

asio::awaitable<absl::StatusOr<Job>> EncryptingBus::Fail(
    std::string id, std::string lease_token, std::string error,
    std::optional<std::chrono::milliseconds> retry_after, std::vector<Event> events) {
  const std::string tenant = LeasedTenant(id, false);
  if (tenant.empty()) {
    co_return absl::FailedPreconditionError(StrCat("job ", id, ": not leased by this process"));
  }
  auto sealed = SealJobField(tenant, id, "error", error);
  if (!sealed.ok()) co_return sealed.status();
  if (absl::Status s = SealEvents(events); !s.ok()) co_return s;
  auto job = co_await inner_.Fail(id, std::move(lease_token), *std::move(sealed), retry_after,
                                  std::move(events));
  LeasedTenant(id, true);
  if (!job.ok()) co_return job;
  if (absl::Status s = OpenJob(*job); !s.ok()) co_return s;
  co_return job;
}

asio::awaitable<absl::Status> EncryptingBus::Release(std::string id, std::string lease_token) {
  LeasedTenant(id, true);
  co_return co_await inner_.Release(std::move(id), std::move(lease_token));
}

asio::awaitable<absl::StatusOr<Job>> EncryptingBus::Cancel(std::string tenant, std::string id,
                                                           std::string error,
                                                           std::vector<Event> events) {
  auto sealed = SealJobField(tenant, id, "error", error);
  if (!sealed.ok()) co_return sealed.status();
  if (absl::Status s = SealEvents(events); !s.ok()) co_return s;
  auto job = co_await inner_.Cancel(std::move(tenant), std::move(id), *std::move(sealed),
                                    std::move(events));
  if (!job.ok()) co_return job;
  if (absl::Status s = OpenJob(*job); !s.ok()) co_return s;
  co_return job;
}

asio::awaitable<absl::StatusOr<std::vector<Job>>> EncryptingBus::Redrive(
    std::string tenant, std::string queue, std::vector<std::string> ids, int limit,
    bus::LeaseEvents on_redrive) {
  auto jobs = co_await inner_.Redrive(std::move(tenant), std::move(queue), std::move(ids), limit,
                                      Wrap(std::move(on_redrive)));
  if (!jobs.ok()) co_return jobs;
  if (absl::Status s = OpenJobs(*jobs); !s.ok()) co_return s;
  co_return jobs;
}

asio::awaitable<absl::StatusOr<Job>> EncryptingBus::Get(std::string tenant, std::string id) {
  auto job = co_await inner_.Get(std::move(tenant), std::move(id));
  if (!job.ok()) co_return job;
  if (absl::Status s = OpenJob(*job); !s.ok()) co_return s;
  co_return job;
}

asio::awaitable<absl::StatusOr<std::vector<Job>>> EncryptingBus::List(bus::JobFilter filter) {
  if (filter.where) {
    filter.where = [this, where = std::move(filter.where)](const Job& sealed) {
      Job job = sealed;
      return OpenJob(job).ok() && where(job);
    };
  }
  auto jobs = co_await inner_.List(std::move(filter));
  if (!jobs.ok()) co_return jobs;
  if (absl::Status s = OpenJobs(*jobs); !s.ok()) co_return s;
  co_return jobs;
}

asio::awaitable<absl::StatusOr<std::vector<Job>>> EncryptingBus::ListGroup(std::string tenant,
                                                                           std::string group_id) {
  auto jobs = co_await inner_.ListGroup(std::move(tenant), std::move(group_id));
  if (!jobs.ok()) co_return jobs;
  if (absl::Status s = OpenJobs(*jobs); !s.ok()) co_return s;
  co_return jobs;
}

asio::awaitable<absl::Status> EncryptingBus::Publish(std::vector<Event> events) {
  if (absl::Status s = SealEvents(events); !s.ok()) co_return s;
  co_return co_await inner_.Publish(std::move(events));
}

asio::awaitable<absl::StatusOr<std::vector<Event>>> EncryptingBus::EventsAfter(int64_t after,
                                                                               int limit,
                                                                               bool bodies) {
  auto events = co_await inner_.EventsAfter(after, limit, bodies);
  if (!events.ok()) co_return events;
  if (absl::Status s = OpenEvents(*events); !s.ok()) co_return s;
  co_return events;
}

asio::awaitable<absl::StatusOr<std::vector<Event>>> EncryptingBus::EventsFor(std::string tenant,
                                                                             std::string subject,
                                                                             int64_t after) {
  auto events = co_await inner_.EventsFor(std::move(tenant), std::move(subject), after);
  if (!events.ok()) co_return events;
  if (absl::Status s = OpenEvents(*events); !s.ok()) co_return s;
  co_return events;
}

asio::awaitable<absl::Status> EncryptingBus::AdvanceCursor(std::string name, int64_t seq,
                                                           std::vector<NewJob> jobs,
                                                           std::vector<Event> events) {
  for (NewJob& j : jobs) {
    if (absl::Status s = SealJob(j); !s.ok()) co_return s;
  }
  if (absl::Status s = SealEvents(events); !s.ok()) co_return s;
  co_return co_await inner_.AdvanceCursor(std::move(name), seq, std::move(jobs),
                                          std::move(events));
}

}  // namespace basalt::tenancy
