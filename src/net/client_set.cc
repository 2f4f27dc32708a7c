#include "net/client_set.h"

#include <boost/asio/this_coro.hpp>

namespace basalt::net {

absl::StatusOr<std::unique_ptr<ClientSet>> ClientSet::Create(
    const std::vector<boost::asio::io_context*>& contexts, const HttpClientConfig& config) {
  auto set = std::unique_ptr<ClientSet>(new ClientSet());
  for (boost::asio::io_context* ioc : contexts) {
    auto client = HttpClient::Create(ioc->get_executor(), config);
    if (!client.ok()) return client.status();
    set->clients_.emplace_back(ioc, *std::move(client));
  }
  return set;
}

boost::asio::awaitable<absl::StatusOr<HttpClient*>> ClientSet::Current() const {
  auto executor = co_await boost::asio::this_coro::executor;
  for (const auto& [ioc, client] : clients_) {
    if (executor == boost::asio::any_io_executor(ioc->get_executor())) co_return client.get();
    // Strands and other wrappers around the same context also belong to it.
    if (&boost::asio::query(executor, boost::asio::execution::context) == ioc) {
      co_return client.get();
    }
  }
  co_return absl::InternalError("no HTTP client for this executor");
}

}  // namespace basalt::net
