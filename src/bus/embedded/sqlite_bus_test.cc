#include "bus/embedded/sqlite_bus.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/blocking_pool.h"
#include "core/clock.h"
#include "gtest/gtest.h"
#include "store/store_test_util.h"

namespace basalt::bus {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using ::basalt::testing::TempDir;

class SqliteBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bus = SqliteBus::Open(dir_.File("bus.db"), {}, pool_, clock_);
    ASSERT_TRUE(bus.ok()) << bus.status();
    bus_ = *std::move(bus);
  }

  // Runs `coro` to completion on a fresh io_context.
  void Run(std::function<asio::awaitable<void>()> coro) {
    asio::io_context io;
    bool done = false;
    asio::co_spawn(io, coro(), [&](std::exception_ptr e) {
      EXPECT_FALSE(e) << "coroutine threw";
      done = true;
    });
    io.run();
    ASSERT_TRUE(done);
  }

  static NewJob MakeJob(std::string id, std::string tenant, int priority = 0) {
    NewJob j;
    j.id = std::move(id);
    j.queue = "q";
    j.tenant = std::move(tenant);
    j.payload = R"({"n":1})";
    j.priority = priority;
    return j;
  }
  static Event MakeEvent(std::string type, std::string tenant, std::string subject) {
    Event e;
    e.id = "evt_" + type + subject;
    e.type = std::move(type);
    e.tenant = std::move(tenant);
    e.subject = std::move(subject);
    e.body = "{}";
    e.time_ms = 1;
    return e;
  }

  static std::vector<Event> NoEvents() { return {}; }
  template <class... E>
  static std::vector<Event> Events(E... e) {
    return std::vector<Event>{std::move(e)...};
  }
  static std::vector<NewJob> Jobs(NewJob j) { return {std::move(j)}; }
  static std::vector<std::string> Ids(std::string id) { return {std::move(id)}; }

  TempDir dir_;
  BlockingPool pool_{2, 1024};
  RealClock clock_;
  std::unique_ptr<SqliteBus> bus_;
};

TEST_F(SqliteBusTest, EnqueueLeaseCompleteKeepsResultAndEvents) {
  Run([&]() -> asio::awaitable<void> {
    std::vector<Event> received = Events(MakeEvent("received", "t1", "a"));
    auto r = co_await bus_->Enqueue(MakeJob("a", "t1"), std::move(received));
    EXPECT_TRUE(r.ok() && r->created) << r.status();
    LeaseEvents processing = [&](const Job& j) {
      return Events(MakeEvent("processing", j.tenant, j.id));
    };
    auto leased = co_await bus_->Lease("q", 10, milliseconds(30000), processing, nullptr);
    EXPECT_TRUE(leased.ok()) << leased.status();
    if (!leased.ok() || leased->size() != 1) co_return;
    const Job job = (*leased)[0];
    EXPECT_EQ(job.state, JobState::kLeased);
    EXPECT_EQ(job.attempts, 1);
    EXPECT_FALSE(job.lease_token.empty());
    auto again = co_await bus_->Lease("q", 10, milliseconds(30000), nullptr, nullptr);
    EXPECT_TRUE(again.ok() && again->empty()) << "a leased job is not leased twice";
    std::vector<Event> completed = Events(MakeEvent("completed", "t1", "a"));
    auto done = co_await bus_->Complete("a", job.lease_token, R"({"ok":true})",
                                        std::move(completed));
    EXPECT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(done->state, JobState::kSucceeded);
    EXPECT_EQ(done->result, R"({"ok":true})");
    auto stale = co_await bus_->Complete("a", job.lease_token, "{}", NoEvents());
    EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
    auto history = co_await bus_->EventsFor("t1", "a", 0);
    EXPECT_TRUE(history.ok());
    std::vector<std::string> types;
    for (const Event& e : *history) types.push_back(e.type);
    EXPECT_EQ(types, (std::vector<std::string>{"received", "processing", "completed"}));
    auto other_tenant = co_await bus_->Get("t2", "a");
    EXPECT_EQ(other_tenant.status().code(), absl::StatusCode::kNotFound);
  });
}

TEST_F(SqliteBusTest, IdempotencyKeyReturnsTheSameJobWithoutEvents) {
  Run([&]() -> asio::awaitable<void> {
    NewJob first = MakeJob("a", "t1");
    first.idempotency_key = "k";
    NewJob second = MakeJob("b", "t1");
    second.idempotency_key = "k";
    NewJob other_tenant = MakeJob("c", "t2");
    other_tenant.idempotency_key = "k";
    auto r1 = co_await bus_->Enqueue(first, Events(MakeEvent("received", "t1", "a")));
    auto r2 = co_await bus_->Enqueue(second, Events(MakeEvent("received", "t1", "b")));
    auto r3 = co_await bus_->Enqueue(other_tenant, NoEvents());
    EXPECT_TRUE(r1.ok() && r2.ok() && r3.ok());
    EXPECT_TRUE(r1->created);
    EXPECT_FALSE(r2->created);
    EXPECT_EQ(r2->job.id, "a");
    EXPECT_TRUE(r3->created) << "keys are per tenant";
    auto events = co_await bus_->EventsAfter(0, 100, true);
    EXPECT_EQ(events->size(), 1u);
    auto missing = co_await bus_->Get("t1", "b");
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  });
}

TEST_F(SqliteBusTest, LeasesRoundRobinAcrossTenantsAndByPriorityWithin) {
  Run([&]() -> asio::awaitable<void> {
    std::vector<NewJob> jobs;
    for (int i = 0; i < 50; ++i) jobs.push_back(MakeJob("a" + std::to_string(100 + i), "big"));
    jobs.push_back(MakeJob("b1", "small"));
    jobs.push_back(MakeJob("b2", "small", /*priority=*/5));
    auto r = co_await bus_->EnqueueMany(std::move(jobs), NoEvents());
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> order;
    for (int i = 0; i < 4; ++i) {
      auto leased = co_await bus_->Lease("q", 1, milliseconds(30000), nullptr, nullptr);
      EXPECT_TRUE(leased.ok() && leased->size() == 1);
      if (leased.ok() && !leased->empty()) order.push_back((*leased)[0].id);
    }
    // One each per round; the higher priority first within "small".
    EXPECT_EQ(order, (std::vector<std::string>{"a100", "b2", "a101", "b1"}));
    auto batch = co_await bus_->Lease("q", 8, milliseconds(30000), nullptr, nullptr);
    EXPECT_EQ(batch->size(), 8u);
  });
}

TEST_F(SqliteBusTest, FailRetriesThenDeadLettersAndRedriveResets) {
  Run([&]() -> asio::awaitable<void> {
    NewJob job = MakeJob("a", "t1");
    job.max_attempts = 2;
    co_await bus_->Enqueue(job, NoEvents());
    auto l1 = co_await bus_->Lease("q", 1, milliseconds(30000), nullptr, nullptr);
    auto f1 = co_await bus_->Fail("a", (*l1)[0].lease_token, R"({"code":"x"})", milliseconds(0),
                                  {});
    EXPECT_TRUE(f1.ok()) << f1.status();
    EXPECT_EQ(f1->state, JobState::kReady);
    auto l2 = co_await bus_->Lease("q", 1, milliseconds(30000), nullptr, nullptr);
    EXPECT_EQ((*l2)[0].attempts, 2);
    auto f2 = co_await bus_->Fail("a", (*l2)[0].lease_token, R"({"code":"y"})", std::nullopt,
                                  Events(MakeEvent("failed", "t1", "a")));
    EXPECT_EQ(f2->state, JobState::kDead);
    auto stats = co_await bus_->Stats("t1");
    EXPECT_EQ(stats->size(), 1u);
    EXPECT_EQ((*stats)[0].dead, 1);
    auto redriven = co_await bus_->Redrive("t1", "q", std::vector<std::string>(), 10, nullptr);
    EXPECT_EQ(redriven->size(), 1u);
    auto got = co_await bus_->Get("t1", "a");
    EXPECT_EQ(got->state, JobState::kReady);
    EXPECT_EQ(got->attempts, 0);
    auto not_dead = co_await bus_->Redrive("t1", "q", Ids("a"), 10, nullptr);
    EXPECT_EQ(not_dead.status().code(), absl::StatusCode::kFailedPrecondition);
  });
}

TEST_F(SqliteBusTest, ExpiredLeaseIsReclaimedAndCountsAsAnAttempt) {
  Run([&]() -> asio::awaitable<void> {
    NewJob job = MakeJob("a", "t1");
    job.max_attempts = 2;
    co_await bus_->Enqueue(job, NoEvents());
    auto l1 = co_await bus_->Lease("q", 1, milliseconds(0), nullptr, nullptr);
    EXPECT_EQ(l1->size(), 1u);
    auto l2 = co_await bus_->Lease("q", 1, milliseconds(0), nullptr, nullptr);
    EXPECT_EQ(l2->size(), 1u) << "the expired lease is reclaimed";
    auto late = co_await bus_->Complete("a", (*l1)[0].lease_token, "{}", NoEvents());
    EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
    int dead_events = 0;
    LeaseEvents on_dead = [&](const Job& j) {
      ++dead_events;
      EXPECT_EQ(j.state, JobState::kDead);
      return Events(MakeEvent("failed", j.tenant, j.id));
    };
    auto l3 = co_await bus_->Lease("q", 1, milliseconds(0), nullptr, on_dead);
    EXPECT_TRUE(l3->empty());
    EXPECT_EQ(dead_events, 1);
    auto got = co_await bus_->Get("t1", "a");
    EXPECT_EQ(got->state, JobState::kDead);
  });
}

TEST_F(SqliteBusTest, CancelEndsAJobOnceAndFencesItsWorker) {
  Run([&]() -> asio::awaitable<void> {
    co_await bus_->Enqueue(MakeJob("a", "t1"), NoEvents());
    auto leased = co_await bus_->Lease("q", 1, milliseconds(30000), nullptr, nullptr);
    auto c1 = co_await bus_->Cancel("t1", "a", R"({"code":"cancelled"})", NoEvents());
    EXPECT_EQ(c1->state, JobState::kCancelled);
    auto c2 = co_await bus_->Cancel("t1", "a", "{}", NoEvents());
    EXPECT_EQ(c2.status().code(), absl::StatusCode::kFailedPrecondition);
    auto ext = co_await bus_->Extend("a", (*leased)[0].lease_token, milliseconds(1000));
    EXPECT_EQ(ext.code(), absl::StatusCode::kFailedPrecondition);
    auto other = co_await bus_->Cancel("t2", "a", "{}", NoEvents());
    EXPECT_EQ(other.status().code(), absl::StatusCode::kNotFound);
  });
}

TEST_F(SqliteBusTest, ReleaseGivesTheAttemptBack) {
  Run([&]() -> asio::awaitable<void> {
    co_await bus_->Enqueue(MakeJob("a", "t1"), NoEvents());
    auto leased = co_await bus_->Lease("q", 1, milliseconds(30000), nullptr, nullptr);
    auto s = co_await bus_->Release("a", (*leased)[0].lease_token);
    EXPECT_TRUE(s.ok()) << s;
    auto got = co_await bus_->Get("t1", "a");
    EXPECT_EQ(got->state, JobState::kReady);
    EXPECT_EQ(got->attempts, 0);
  });
}

TEST_F(SqliteBusTest, CursorAdvancesWithItsDeliveriesAtomically) {
  Run([&]() -> asio::awaitable<void> {
    co_await bus_->Publish(Events(MakeEvent("x", "t1", "s"), MakeEvent("y", "t1", "s")));
    auto events = co_await bus_->EventsAfter(0, 10, true);
    EXPECT_EQ(events->size(), 2u);
    EXPECT_LT((*events)[0].seq, (*events)[1].seq);
    NewJob delivery = MakeJob("d1", "t1");
    delivery.idempotency_key = "evt-x/rule";
    auto s = co_await bus_->AdvanceCursor("dispatch", (*events)[1].seq, Jobs(delivery), NoEvents());
    EXPECT_TRUE(s.ok()) << s;
    NewJob replay = delivery;
    replay.id = "d2";  // a replay makes a new id; the key is what matches
    auto again = co_await bus_->AdvanceCursor("dispatch", (*events)[1].seq, Jobs(replay),
                                              Events(MakeEvent("received", "t1", "d2")));
    EXPECT_TRUE(again.ok()) << "a replayed delivery is deduplicated, not an error";
    auto after = co_await bus_->EventsAfter((*events)[1].seq, 10, true);
    EXPECT_TRUE(after->empty()) << "no event about a job that was not created";
    auto cursor = co_await bus_->GetCursor("dispatch");
    EXPECT_EQ(*cursor, (*events)[1].seq);
    JobFilter filter;
    filter.tenant = "t1";
    filter.queue = "q";
    auto list = co_await bus_->List(filter);
    EXPECT_EQ(list->size(), 1u);
  });
}

TEST_F(SqliteBusTest, ConcurrentEnqueuesShareCommits) {
  asio::io_context io;
  int ok = 0;
  for (int i = 0; i < 400; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto r = co_await bus_->Enqueue(MakeJob("j" + std::to_string(i), "t1"), NoEvents());
          if (r.ok()) ++ok;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(ok, 400);
  EXPECT_LT(bus_->Commits(), 400u) << "writes waiting together commit together";
}

TEST_F(SqliteBusTest, ListPagesNewestFirstWithFilters) {
  Run([&]() -> asio::awaitable<void> {
    std::vector<NewJob> jobs;
    for (int i = 0; i < 25; ++i) jobs.push_back(MakeJob("j" + std::to_string(100 + i), "t1"));
    co_await bus_->EnqueueMany(std::move(jobs), NoEvents());
    JobFilter f1;
    f1.tenant = "t1";
    f1.queue = "q";
    f1.limit = 10;
    auto page1 = co_await bus_->List(f1);
    EXPECT_EQ(page1->size(), 10u);
    EXPECT_EQ(page1->front().id, "j124");
    JobFilter f2;
    f2.tenant = "t1";
    f2.queue = "q";
    f2.before_id = page1->back().id;
    f2.limit = 100;
    auto page2 = co_await bus_->List(f2);
    EXPECT_EQ(page2->size(), 15u);
    EXPECT_EQ(page2->back().id, "j100");
    JobFilter f3;
    f3.tenant = "t1";
    f3.queue = "q";
    f3.state = JobState::kDead;
    f3.limit = 10;
    auto none = co_await bus_->List(f3);
    EXPECT_TRUE(none->empty());
  });
}

}  // namespace
}  // namespace basalt::bus
