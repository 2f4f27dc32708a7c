// SqliteBus's writes. Each runs on the GroupCommitter's writer thread inside
// its own savepoint of a shared transaction (see group_commit.h).
#include <algorithm>

#include "bus/embedded/sqlite_bus.h"
#include "bus/embedded/sqlite_bus_sql.h"
#include "core/ids.h"
#include "core/strings.h"

namespace basalt::bus {
namespace {

using sqlite::Connection;
using sqlite::Statement;

absl::Status Bind(Statement& st, int i, const std::string& v) { return st.BindText(i, v); }
absl::Status Bind(Statement& st, int i, int64_t v) { return st.BindInt(i, v); }

// Prepares `sql`, binds `args` to ?1, ?2, ... and runs it; returns the number
// of rows changed.
template <class... Args>
absl::StatusOr<int64_t> Exec(Connection& c, std::string_view sql, const Args&... args) {
  auto st = c.Prepare(sql);
  if (!st.ok()) return st.status();
  int i = 0;
  absl::Status bound = absl::OkStatus();
  ((bound.ok() ? (bound = Bind(*st, ++i, args)) : bound), ...);
  if (!bound.ok()) return bound;
  if (auto s = st->Run(); !s.ok()) return s;
  return st->Changes();
}

absl::Status LeaseLost(std::string_view id) {
  return absl::FailedPreconditionError(
      StrCat("job '", id, "' is no longer leased by this worker (lease expired or cancelled)"));
}

absl::StatusOr<EnqueueResult> InsertJob(Connection& c, const NewJob& job, int64_t now) {
  if (job.id.empty() || job.queue.empty() || job.tenant.empty()) {
    return absl::InvalidArgumentError("job: id, queue and tenant are required");
  }
  if (!job.idempotency_key.empty()) {
    static const std::string kFind = StrCat(
        "SELECT seq, ", sql::kJobColumns,
        " FROM jobs WHERE tenant_id = ?1 AND queue = ?2 AND idem_key = ?3");
    auto st = c.Prepare(kFind);
    if (!st.ok()) return st.status();
    if (auto s = st->BindText(1, job.tenant); !s.ok()) return s;
    if (auto s = st->BindText(2, job.queue); !s.ok()) return s;
    if (auto s = st->BindText(3, job.idempotency_key); !s.ok()) return s;
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      Job existing = sql::ReadJob(*st, 1);
      const int64_t seq = st->ColumnInt(0);
      if (existing.created_ms + job.idempotency_window_ms > now) {
        return EnqueueResult{std::move(existing), false};
      }
      // The key's window has passed: it may be used again.
      auto cleared = Exec(c, "UPDATE jobs SET idem_key = NULL WHERE seq = ?1", seq);
      if (!cleared.ok()) return cleared.status();
    }
  }
  const int64_t not_before = job.not_before_ms > 0 ? job.not_before_ms : now;
  auto st = c.Prepare(
      "INSERT INTO jobs(id, queue, tenant_id, state, priority, not_before_ms, max_attempts, "
      "idem_key, request_hash, group_id, group_seq, payload, created_ms, updated_ms) "
      "VALUES(?1, ?2, ?3, 0, ?4, ?5, ?6, NULLIF(?7, ''), ?8, NULLIF(?9, ''), ?10, ?11, ?12, ?12)");
  if (!st.ok()) return st.status();
  absl::Status s = st->BindText(1, job.id);
  if (s.ok()) s = st->BindText(2, job.queue);
  if (s.ok()) s = st->BindText(3, job.tenant);
  if (s.ok()) s = st->BindInt(4, job.priority);
  if (s.ok()) s = st->BindInt(5, not_before);
  if (s.ok()) s = st->BindInt(6, std::max(1, job.max_attempts));
  if (s.ok()) s = st->BindText(7, job.idempotency_key);
  if (s.ok()) s = st->BindText(8, job.request_hash);
  if (s.ok()) s = st->BindText(9, job.group_id);
  if (s.ok()) s = st->BindInt(10, job.group_seq);
  if (s.ok()) s = st->BindText(11, job.payload);
  if (s.ok()) s = st->BindInt(12, now);
  if (s.ok()) s = st->Run();
  if (!s.ok()) return s;
  Job out;
  out.id = job.id;
  out.queue = job.queue;
  out.tenant = job.tenant;
  out.payload = job.payload;
  out.idempotency_key = job.idempotency_key;
  out.group_id = job.group_id;
  out.group_seq = job.group_seq;
  out.request_hash = job.request_hash;
  out.priority = job.priority;
  out.max_attempts = std::max(1, job.max_attempts);
  out.not_before_ms = not_before;
  out.created_ms = out.updated_ms = now;
  return EnqueueResult{std::move(out), true};
}

// Reads leased jobs of `queue` whose lease ran out.
absl::StatusOr<std::vector<Job>> ExpiredLeases(Connection& c, const std::string& queue,
                                               int64_t now) {
  static const std::string kSql =
      StrCat("SELECT ", sql::kJobColumns,
             " FROM jobs WHERE queue = ?1 AND state = 2 AND lease_until_ms <= ?2 LIMIT 256");
  auto st = c.Prepare(kSql);
  if (!st.ok()) return st.status();
  if (auto s = st->BindText(1, queue); !s.ok()) return s;
  if (auto s = st->BindInt(2, now); !s.ok()) return s;
  std::vector<Job> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(sql::ReadJob(*st));
  }
  return out;
}

absl::Status ReapExpired(Connection& c, const std::string& queue, int64_t now,
                         const LeaseEvents& on_dead) {
  auto expired = ExpiredLeases(c, queue, now);
  if (!expired.ok()) return expired.status();
  static const std::string kError =
      R"({"code":"lease_expired","message":"the worker's lease ran out before it finished"})";
  for (Job& job : *expired) {
    if (job.attempts >= job.max_attempts) {
      auto n = Exec(c,
                    "UPDATE jobs SET state = 4, lease_token = NULL, error = ?2, finished_ms = ?3, "
                    "updated_ms = ?3 WHERE id = ?1",
                    job.id, kError, now);
      if (!n.ok()) return n.status();
      job.state = JobState::kDead;
      job.error = kError;
      job.finished_ms = now;
      std::vector<Event> events = on_dead ? on_dead(job) : std::vector<Event>{};
      if (auto s = sql::InsertEvents(c, events); !s.ok()) return s;
    } else {
      auto n = Exec(c,
                    "UPDATE jobs SET state = 0, lease_token = NULL, error = ?2, not_before_ms = ?3, "
                    "updated_ms = ?3 WHERE id = ?1",
                    job.id, kError, now);
      if (!n.ok()) return n.status();
    }
  }
  return absl::OkStatus();
}

// The tenant with ready jobs that follows `after` in name order, wrapping
// around once; empty when no tenant has ready jobs.
absl::StatusOr<std::string> NextTenant(Connection& c, const std::string& queue,
                                       const std::string& after) {
  for (const std::string* from : {&after, static_cast<const std::string*>(nullptr)}) {
    auto st = c.Prepare(
        "SELECT tenant_id FROM jobs WHERE state = 0 AND queue = ?1 AND tenant_id > ?2 "
        "ORDER BY tenant_id LIMIT 1");
    if (!st.ok()) return st.status();
    if (auto s = st->BindText(1, queue); !s.ok()) return s;
    // Bound without a copy (SQLITE_STATIC): the text must outlive the step.
    static const std::string kFirst;
    if (auto s = st->BindText(2, from ? *from : kFirst); !s.ok()) return s;
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) return std::string(st->ColumnText(0));
    if (after.empty()) break;
  }
  return std::string();
}

// Up to `limit` due ready jobs of one tenant, by priority then age.
absl::StatusOr<std::vector<Job>> ReadyJobs(Connection& c, const std::string& queue,
                                           const std::string& tenant, int64_t now, int limit) {
  static const std::string kSql = StrCat(
      "SELECT ", sql::kJobColumns,
      " FROM jobs WHERE state = 0 AND queue = ?1 AND tenant_id = ?2 AND not_before_ms <= ?3 "
      "ORDER BY priority DESC, seq LIMIT ?4");
  auto st = c.Prepare(kSql);
  if (!st.ok()) return st.status();
  absl::Status s = st->BindText(1, queue);
  if (s.ok()) s = st->BindText(2, tenant);
  if (s.ok()) s = st->BindInt(3, now);
  if (s.ok()) s = st->BindInt(4, limit);
  if (!s.ok()) return s;
  std::vector<Job> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(sql::ReadJob(*st));
  }
  return out;
}

}  // namespace

std::string& SqliteBus::LeaseCursor(const std::string& queue) { return lease_cursor_[queue]; }

boost::asio::awaitable<absl::StatusOr<EnqueueResult>> SqliteBus::Enqueue(
    NewJob job, std::vector<Event> events) {
  const int64_t now = NowMs();
  std::function<absl::StatusOr<EnqueueResult>(Connection&)> fn =
      [&](Connection& c) -> absl::StatusOr<EnqueueResult> {
    auto r = InsertJob(c, job, now);
    if (!r.ok() || !r->created) return r;
    if (auto s = sql::InsertEvents(c, events); !s.ok()) return s;
    return r;
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(kJobsReady | kEventsAppended, job.queue);
  co_return written;
}

boost::asio::awaitable<absl::StatusOr<std::vector<EnqueueResult>>> SqliteBus::EnqueueMany(
    std::vector<NewJob> jobs, std::vector<Event> events) {
  const int64_t now = NowMs();
  std::function<absl::StatusOr<std::vector<EnqueueResult>>(Connection&)> fn =
      [&](Connection& c) -> absl::StatusOr<std::vector<EnqueueResult>> {
    std::vector<EnqueueResult> out;
    out.reserve(jobs.size());
    for (const NewJob& job : jobs) {
      auto r = InsertJob(c, job, now);
      if (!r.ok()) return r.status();
      out.push_back(*std::move(r));
    }
    if (auto s = sql::InsertEvents(c, events); !s.ok()) return s;
    return out;
  };
  auto written = co_await committer_->Run(std::move(fn));
  std::string_view queue = jobs.empty() ? std::string_view() : std::string_view(jobs[0].queue);
  for (const NewJob& j : jobs) {
    if (j.queue != queue) queue = {};
  }
  if (written.ok()) Notify(kJobsReady | kEventsAppended, queue);
  co_return written;
}

boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> SqliteBus::Lease(
    std::string queue, int max, std::chrono::milliseconds visibility, LeaseEvents on_lease,
    LeaseEvents on_dead) {
  const int64_t now = NowMs();
  std::function<absl::StatusOr<std::vector<Job>>(Connection&)> fn =
      [&](Connection& c) -> absl::StatusOr<std::vector<Job>> {
    if (auto s = ReapExpired(c, queue, now, on_dead); !s.ok()) return s;
    std::string& cursor = LeaseCursor(queue);
    // The tenants to serve this round, in rotation order from the cursor.
    std::vector<std::string> tenants;
    std::string at = cursor;
    while (static_cast<int>(tenants.size()) < max) {
      auto next = NextTenant(c, queue, at);
      if (!next.ok()) return next.status();
      if (next->empty() || (!tenants.empty() && *next == tenants.front())) break;
      tenants.push_back(*next);
      at = *next;
    }
    if (tenants.empty()) return std::vector<Job>{};
    const int share = (max + static_cast<int>(tenants.size()) - 1) /
                      static_cast<int>(tenants.size());
    std::vector<std::vector<Job>> per_tenant;
    for (const std::string& t : tenants) {
      auto ready = ReadyJobs(c, queue, t, now, share);
      if (!ready.ok()) return ready.status();
      per_tenant.push_back(*std::move(ready));
    }
    // Interleave: one job per tenant per round.
    std::vector<Job> picked;
    for (int round = 0; round < share && static_cast<int>(picked.size()) < max; ++round) {
      for (size_t i = 0; i < tenants.size() && static_cast<int>(picked.size()) < max; ++i) {
        if (round < static_cast<int>(per_tenant[i].size())) {
          picked.push_back(std::move(per_tenant[i][round]));
          cursor = tenants[i];
        }
      }
    }
    const int64_t until = now + visibility.count();
    for (Job& job : picked) {
      job.lease_token = NewId("lt_");
      auto n = Exec(c,
                    "UPDATE jobs SET state = 2, attempts = attempts + 1, lease_token = ?2, "
                    "lease_until_ms = ?3, started_ms = CASE WHEN started_ms = 0 THEN ?4 "
                    "ELSE started_ms END, updated_ms = ?4 WHERE id = ?1",
                    job.id, job.lease_token, until, now);
      if (!n.ok()) return n.status();
      job.state = JobState::kLeased;
      job.attempts += 1;
      job.lease_until_ms = until;
      if (job.started_ms == 0) job.started_ms = now;
      std::vector<Event> events = on_lease ? on_lease(job) : std::vector<Event>{};
      if (auto s = sql::InsertEvents(c, events); !s.ok()) return s;
    }
    return picked;
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok() && !written->empty()) Notify(kEventsAppended);
  co_return written;
}

boost::asio::awaitable<absl::Status> SqliteBus::Extend(std::string id, std::string lease_token,
                                                      std::chrono::milliseconds visibility) {
  const int64_t now = NowMs();
  std::function<absl::Status(Connection&)> fn = [&](Connection& c) -> absl::Status {
    auto n = Exec(c,
                  "UPDATE jobs SET lease_until_ms = ?3, updated_ms = ?4 "
                  "WHERE id = ?1 AND state = 2 AND lease_token = ?2",
                  id, lease_token, now + visibility.count(), now);
    if (!n.ok()) return n.status();
    return *n == 0 ? LeaseLost(id) : absl::OkStatus();
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(0);
  co_return written;
}

boost::asio::awaitable<absl::StatusOr<Job>> SqliteBus::Complete(std::string id,
                                                               std::string lease_token,
                                                               std::string result,
                                                               std::vector<Event> events) {
  const int64_t now = NowMs();
  std::function<absl::StatusOr<Job>(Connection&)> fn = [&](Connection& c) -> absl::StatusOr<Job> {
    auto n = Exec(c,
                  "UPDATE jobs SET state = 3, result = ?3, error = NULL, lease_token = NULL, "
                  "finished_ms = ?4, updated_ms = ?4 "
                  "WHERE id = ?1 AND state = 2 AND lease_token = ?2",
                  id, lease_token, result, now);
    if (!n.ok()) return n.status();
    if (*n == 0) return LeaseLost(id);
    if (auto s = sql::InsertEvents(c, events); !s.ok()) return s;
    return sql::LoadJob(c, "", id);
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(kEventsAppended);
  co_return written;
}

boost::asio::awaitable<absl::StatusOr<Job>> SqliteBus::Fail(
    std::string id, std::string lease_token, std::string error,
    std::optional<std::chrono::milliseconds> retry_after, std::vector<Event> events) {
  const int64_t now = NowMs();
  std::function<absl::StatusOr<Job>(Connection&)> fn = [&](Connection& c) -> absl::StatusOr<Job> {
    absl::StatusOr<int64_t> n =
        retry_after
            ? Exec(c,
                   "UPDATE jobs SET state = 0, error = ?3, lease_token = NULL, not_before_ms = ?4, "
                   "updated_ms = ?5 WHERE id = ?1 AND state = 2 AND lease_token = ?2",
                   id, lease_token, error, now + retry_after->count(), now)
            : Exec(c,
                   "UPDATE jobs SET state = 4, error = ?3, lease_token = NULL, finished_ms = ?4, "
                   "updated_ms = ?4 WHERE id = ?1 AND state = 2 AND lease_token = ?2",
                   id, lease_token, error, now);
    if (!n.ok()) return n.status();
    if (*n == 0) return LeaseLost(id);
    if (auto s = sql::InsertEvents(c, events); !s.ok()) return s;
    return sql::LoadJob(c, "", id);
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(kJobsReady | kEventsAppended, written->queue);
  co_return written;
}

boost::asio::awaitable<absl::Status> SqliteBus::Release(std::string id, std::string lease_token) {
  const int64_t now = NowMs();
  std::function<absl::Status(Connection&)> fn = [&](Connection& c) -> absl::Status {
    auto n = Exec(c,
                  "UPDATE jobs SET state = 0, attempts = MAX(attempts - 1, 0), lease_token = NULL, "
                  "not_before_ms = ?3, updated_ms = ?3 "
                  "WHERE id = ?1 AND state = 2 AND lease_token = ?2",
                  id, lease_token, now);
    if (!n.ok()) return n.status();
    return *n == 0 ? LeaseLost(id) : absl::OkStatus();
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(kJobsReady);
  co_return written;
}

boost::asio::awaitable<absl::StatusOr<Job>> SqliteBus::Cancel(std::string tenant, std::string id,
                                                             std::string error,
                                                             std::vector<Event> events) {
  const int64_t now = NowMs();
  std::function<absl::StatusOr<Job>(Connection&)> fn = [&](Connection& c) -> absl::StatusOr<Job> {
    auto job = sql::LoadJob(c, tenant, id);
    if (!job.ok()) return job.status();
    if (IsTerminal(job->state)) {
      return absl::FailedPreconditionError(
          StrCat("job '", id, "' has already ended (", JobStateName(job->state), ")"));
    }
    auto n = Exec(c,
                  "UPDATE jobs SET state = 5, error = ?2, lease_token = NULL, finished_ms = ?3, "
                  "updated_ms = ?3 WHERE id = ?1",
                  id, error, now);
    if (!n.ok()) return n.status();
    if (auto s = sql::InsertEvents(c, events); !s.ok()) return s;
    return sql::LoadJob(c, tenant, id);
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(kEventsAppended);
  co_return written;
}

boost::asio::awaitable<absl::StatusOr<std::vector<Job>>> SqliteBus::Redrive(
    std::string tenant, std::string queue, std::vector<std::string> ids, int limit,
    LeaseEvents on_redrive) {
  const int64_t now = NowMs();
  std::function<absl::StatusOr<std::vector<Job>>(Connection&)> fn =
      [&](Connection& c) -> absl::StatusOr<std::vector<Job>> {
    std::vector<Job> dead;
    if (ids.empty()) {
      static const std::string kSql = StrCat(
          "SELECT ", sql::kJobColumns,
          " FROM jobs WHERE state = 4 AND queue = ?1 AND tenant_id = ?2 ORDER BY seq LIMIT ?3");
      auto st = c.Prepare(kSql);
      if (!st.ok()) return st.status();
      absl::Status s = st->BindText(1, queue);
      if (s.ok()) s = st->BindText(2, tenant);
      if (s.ok()) s = st->BindInt(3, limit);
      if (!s.ok()) return s;
      for (;;) {
        auto row = st->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        dead.push_back(sql::ReadJob(*st));
      }
    } else {
      for (const std::string& id : ids) {
        auto job = sql::LoadJob(c, tenant, id);
        if (!job.ok()) return job.status();
        if (job->state != JobState::kDead || job->queue != queue) {
          return absl::FailedPreconditionError(
              StrCat("ids: job '", id, "' is not in the dead-letter queue '", queue, "'"));
        }
        dead.push_back(*std::move(job));
      }
    }
    for (Job& job : dead) {
      auto n = Exec(c,
                    "UPDATE jobs SET state = 0, attempts = 0, lease_token = NULL, finished_ms = 0, "
                    "not_before_ms = ?2, updated_ms = ?2 WHERE id = ?1",
                    job.id, now);
      if (!n.ok()) return n.status();
      job.state = JobState::kReady;
      job.attempts = 0;
      job.finished_ms = 0;
      std::vector<Event> events = on_redrive ? on_redrive(job) : std::vector<Event>{};
      if (auto s = sql::InsertEvents(c, events); !s.ok()) return s;
    }
    return dead;
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(kJobsReady | kEventsAppended, queue);
  co_return written;
}

boost::asio::awaitable<absl::Status> SqliteBus::Publish(std::vector<Event> events) {
  std::function<absl::Status(Connection&)> fn = [&](Connection& c) {
    return sql::InsertEvents(c, events);
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(kEventsAppended);
  co_return written;
}

boost::asio::awaitable<absl::Status> SqliteBus::AdminDeleteTenant(std::string tenant) {
  if (tenant.empty()) co_return absl::InvalidArgumentError("tenant: must not be empty");
  std::function<absl::Status(Connection&)> fn = [&](Connection& c) -> absl::Status {
    auto jobs = Exec(c, "DELETE FROM jobs WHERE tenant_id = ?1", tenant);
    if (!jobs.ok()) return jobs.status();
    return Exec(c, "DELETE FROM events WHERE tenant_id = ?1", tenant).status();
  };
  co_return co_await committer_->Run(std::move(fn));
}

boost::asio::awaitable<absl::Status> SqliteBus::AdvanceCursor(std::string name, int64_t seq,
                                                             std::vector<NewJob> jobs,
                                                             std::vector<Event> events) {
  const int64_t now = NowMs();
  std::function<absl::Status(Connection&)> fn = [&](Connection& c) -> absl::Status {
    // A job already enqueued (its idempotency key was used: this is a replay)
    // takes none of the events about it: they were appended the first time.
    std::vector<std::string> replayed;
    for (const NewJob& job : jobs) {
      auto r = InsertJob(c, job, now);
      if (!r.ok()) return r.status();
      if (!r->created) replayed.push_back(job.id);
    }
    std::vector<Event> fresh;
    for (const Event& e : events) {
      if (std::find(replayed.begin(), replayed.end(), e.subject) == replayed.end()) {
        fresh.push_back(e);
      }
    }
    if (auto s = sql::InsertEvents(c, fresh); !s.ok()) return s;
    auto n = Exec(c,
                  "INSERT INTO cursors(name, seq) VALUES(?1, ?2) "
                  "ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
                  name, seq);
    return n.status();
  };
  auto written = co_await committer_->Run(std::move(fn));
  if (written.ok()) Notify(jobs.empty() ? 0 : kJobsReady | kEventsAppended);
  co_return written;
}

}  // namespace basalt::bus
