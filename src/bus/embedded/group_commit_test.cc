#include "bus/embedded/group_commit.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "gtest/gtest.h"
#include "store/store_test_util.h"

namespace basalt::bus {
namespace {

namespace asio = boost::asio;
using ::basalt::testing::TempDir;

std::unique_ptr<sqlite::Connection> OpenDb(const std::string& path) {
  auto c = sqlite::Connection::Open(path, {});
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE((*c)->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t(v INTEGER UNIQUE)").ok());
  return *std::move(c);
}

absl::Status Insert(sqlite::Connection& c, int v) {
  auto st = c.Prepare("INSERT INTO t(v) VALUES(?1)");
  if (!st.ok()) return st.status();
  if (auto s = st->BindInt(1, v); !s.ok()) return s;
  return st->Run();
}

TEST(GroupCommitterTest, AFailingWriteIsRolledBackAloneAndReported) {
  TempDir dir;
  const std::string path = dir.File("g.db");
  GroupCommitter committer(OpenDb(path), {});
  asio::io_context io;
  std::vector<absl::Status> results(3);
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          // The second write inserts 1, then a duplicate: its savepoint is rolled back.
          std::function<absl::Status(sqlite::Connection&)> fn = [i](sqlite::Connection& c) {
            if (i == 1) {
              if (auto s = Insert(c, 100); !s.ok()) return s;
              return Insert(c, 0);
            }
            return Insert(c, i);
          };
          results[i] = co_await committer.Run(std::move(fn));
        },
        asio::detached);
  }
  io.run();
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(results[2].ok());
  auto check = sqlite::Connection::Open(path, {});
  EXPECT_EQ(*(*check)->QueryText("SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)"),
            "0,2");
}

TEST(GroupCommitterTest, BeyondMaxPendingAnswersResourceExhausted) {
  TempDir dir;
  GroupCommitter committer(OpenDb(dir.File("g.db")), {.max_pending = 1, .max_batch = 1});
  asio::io_context io;
  int exhausted = 0, ok = 0;
  for (int i = 0; i < 50; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          std::function<absl::Status(sqlite::Connection&)> fn = [i](sqlite::Connection& c) {
            return Insert(c, i);
          };
          absl::Status s = co_await committer.Run(std::move(fn));
          if (s.ok()) ++ok;
          if (s.code() == absl::StatusCode::kResourceExhausted) ++exhausted;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(ok + exhausted, 50);
  EXPECT_GT(exhausted, 0);
  EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace basalt::bus
