#include "net/http_tls.h"

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <boost/system/system_error.hpp>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace basalt::net::client_internal {
namespace {

namespace asio = boost::asio;

absl::StatusOr<std::shared_ptr<asio::ssl::context>> BuildTlsContext(
    const HttpClientConfig& config) {
  std::shared_ptr<asio::ssl::context> context;
  try {
    context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  } catch (const boost::system::system_error& e) {
    return absl::InternalError(std::string("http_client: cannot create TLS context: ") + e.what());
  }
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return absl::InternalError("http_client: cannot require TLS 1.2");
  }
  boost::system::error_code ec;
  if (!config.verify_tls) {
    context->set_verify_mode(asio::ssl::verify_none, ec);
    return context;
  }
  context->set_verify_mode(asio::ssl::verify_peer, ec);
  if (!ec) {
    if (config.ca_file.empty()) {
      context->set_default_verify_paths(ec);
    } else {
      context->load_verify_file(config.ca_file, ec);
    }
  }
  if (ec) {
    return absl::InvalidArgumentError("http_client.ca_file: cannot load CA certificates from '" +
                                      config.ca_file + "': " + ec.message());
  }
  return context;
}

}  // namespace

absl::StatusOr<std::shared_ptr<asio::ssl::context>> SharedTlsContext(
    const HttpClientConfig& config) {
  const std::string key = config.verify_tls ? "verify:" + config.ca_file : "no-verify";
  // The CA file's size and mtime: a replaced file is loaded afresh.
  std::string version;
  if (config.verify_tls && !config.ca_file.empty()) {
    struct stat st {};
    if (::stat(config.ca_file.c_str(), &st) != 0) return BuildTlsContext(config);  // the error
    version = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
              std::to_string(st.st_mtim.tv_nsec);
  }
  struct Entry {
    std::string version;
    std::shared_ptr<asio::ssl::context> context;
  };
  struct Cache {
    absl::Mutex mu;
    std::map<std::string, Entry> entries ABSL_GUARDED_BY(mu);
  };
  static Cache* const cache = new Cache;  // never destroyed: used until exit
  absl::MutexLock lock(&cache->mu);
  Entry& entry = cache->entries[key];
  if (entry.context == nullptr || entry.version != version) {
    absl::StatusOr<std::shared_ptr<asio::ssl::context>> built = BuildTlsContext(config);
    if (!built.ok()) return built.status();
    entry = Entry{version, *std::move(built)};  // clients of the old one keep it alive
  }
  return entry.context;
}

}  // namespace basalt::net::client_internal
