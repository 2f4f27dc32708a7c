#include "store/async_store.h"

namespace basalt {

// Each lambda captures only `this` and references to the coroutine's own
// parameters. That is safe: the parameters live in this coroutine's frame, and
// the frame stays alive until the pool call has returned and resumed it.
//
// It is also deliberate. g++ 12 miscompiles an aggregate temporary with
// non-trivial members (such as a lambda capturing a std::string by value)
// created inside a co_await expression: the copy is bitwise and the string is
// freed twice (found by ASan here; see equeim/tremotesf2#551). A lambda holding
// only references and pointers is trivially copyable, so it is unaffected.

boost::asio::awaitable<absl::StatusOr<Record>> AsyncStore::Create(std::string tenant,
                                                                  std::string collection,
                                                                  std::string id,
                                                                  std::string body) {
  co_return co_await pool_.Run([&] { return store_.Create(tenant, collection, id, body); });
}

boost::asio::awaitable<absl::StatusOr<Record>> AsyncStore::Get(std::string tenant,
                                                               std::string collection,
                                                               std::string id) {
  co_return co_await pool_.Run([&] { return store_.Get(tenant, collection, id); });
}

boost::asio::awaitable<absl::StatusOr<Record>> AsyncStore::Update(std::string tenant,
                                                                  std::string collection,
                                                                  std::string id, std::string body,
                                                                  int64_t expected_version) {
  co_return co_await pool_.Run(
      [&] { return store_.Update(tenant, collection, id, body, expected_version); });
}

boost::asio::awaitable<absl::Status> AsyncStore::Delete(std::string tenant, std::string collection,
                                                        std::string id) {
  co_return co_await pool_.Run([&] { return store_.Delete(tenant, collection, id); });
}

boost::asio::awaitable<absl::StatusOr<RecordPage>> AsyncStore::List(std::string tenant,
                                                                    std::string collection,
                                                                    std::string after_id,
                                                                    int limit) {
  co_return co_await pool_.Run([&] {
    ListOptions options;
    options.after_id = after_id;
    options.limit = limit;
    return store_.List(tenant, collection, options);
  });
}

boost::asio::awaitable<absl::StatusOr<int64_t>> AsyncStore::AdminCountAllTenants(
    std::string collection) {
  co_return co_await pool_.Run([&] { return store_.AdminCountAllTenants(collection); });
}

boost::asio::awaitable<absl::Status> AsyncStore::Ping() {
  co_return co_await pool_.Run([&] { return store_.Ping(); });
}

}  // namespace basalt
