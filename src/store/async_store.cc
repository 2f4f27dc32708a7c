#include "store/async_store.h"

#include <utility>

namespace basalt {

// The arguments move into each lambda, so the pool thread owns what it reads
// and nothing depends on the coroutine frame's lifetime.

boost::asio::awaitable<absl::StatusOr<Record>> AsyncStore::Create(std::string tenant,
                                                                  std::string collection,
                                                                  std::string id,
                                                                  std::string body) {
  co_return co_await pool_.Run([this, tenant = std::move(tenant),
                                collection = std::move(collection), id = std::move(id),
                                body = std::move(body)] {
    return store_.Create(tenant, collection, id, body);
  });
}

boost::asio::awaitable<absl::StatusOr<Record>> AsyncStore::Get(std::string tenant,
                                                               std::string collection,
                                                               std::string id) {
  co_return co_await pool_.Run([this, tenant = std::move(tenant),
                                collection = std::move(collection), id = std::move(id)] {
    return store_.Get(tenant, collection, id);
  });
}

boost::asio::awaitable<absl::StatusOr<Record>> AsyncStore::Update(std::string tenant,
                                                                  std::string collection,
                                                                  std::string id,
                                                                  std::string body,
                                                                  int64_t expected_version) {
  co_return co_await pool_.Run([this, tenant = std::move(tenant),
                                collection = std::move(collection), id = std::move(id),
                                body = std::move(body), expected_version] {
    return store_.Update(tenant, collection, id, body, expected_version);
  });
}

boost::asio::awaitable<absl::Status> AsyncStore::Delete(std::string tenant,
                                                        std::string collection, std::string id) {
  co_return co_await pool_.Run([this, tenant = std::move(tenant),
                                collection = std::move(collection), id = std::move(id)] {
    return store_.Delete(tenant, collection, id);
  });
}

boost::asio::awaitable<absl::StatusOr<RecordPage>> AsyncStore::List(std::string tenant,
                                                                    std::string collection,
                                                                    ListOptions options) {
  co_return co_await pool_.Run([this, tenant = std::move(tenant),
                                collection = std::move(collection), options = std::move(options)] {
    return store_.List(tenant, collection, options);
  });
}

boost::asio::awaitable<absl::StatusOr<int64_t>> AsyncStore::AdminCountAllTenants(
    std::string collection) {
  co_return co_await pool_.Run(
      [this, collection = std::move(collection)] { return store_.AdminCountAllTenants(collection); });
}

boost::asio::awaitable<absl::Status> AsyncStore::Ping() {
  co_return co_await pool_.Run([this] { return store_.Ping(); });
}

}  // namespace basalt
