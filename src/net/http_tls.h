// Internals of HttpClient: the client TLS context.
//
// Thread-safety: SharedTlsContext may be called from any thread. The returned
// context is fully configured and never modified again, so every io thread's client
// may create TLS streams from it concurrently (OpenSSL allows SSL_new on a shared
// SSL_CTX).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace basalt::net::client_internal {

// The TLS client context for `config`: TLS 1.2 or newer; with `verify_tls`, peers
// are verified against `ca_file`, or the system bundle when it is empty. Contexts
// are built once per (verify_tls, ca_file and its size and mtime) and shared for the
// life of the process, so a CA bundle is parsed once, not once per io thread. (The
// system bundle is read once per process.) kInvalidArgument (naming `ca_file`) when
// the CA certificates cannot be loaded.
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> SharedTlsContext(
    const HttpClientConfig& config);

}  // namespace basalt::net::client_internal
