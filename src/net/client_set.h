// ClientSet: one HttpClient per io thread. An HttpClient is bound to a single
// executor and takes no locks, while providers are shared by every io thread;
// a provider asks the set for the client of the io_context its coroutine runs
// on. Built once at start-up, before the io threads run; read-only afterwards,
// so lookups need no locks.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "net/http_client.h"

namespace basalt::net {

class ClientSet {
 public:
  static absl::StatusOr<std::unique_ptr<ClientSet>> Create(
      const std::vector<boost::asio::io_context*>& contexts, const HttpClientConfig& config);

  // The client for the io_context the calling coroutine runs on; kInternal when
  // called from an executor the set was not built for (a wiring bug).
  boost::asio::awaitable<absl::StatusOr<HttpClient*>> Current() const;

 private:
  std::vector<std::pair<boost::asio::io_context*, std::unique_ptr<HttpClient>>> clients_;
};

}  // namespace basalt::net
