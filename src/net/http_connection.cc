#include "net/http_connection.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cerrno>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"

namespace basalt::net::client_internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace urls = boost::urls;
using tcp = asio::ip::tcp;

absl::Status BadUrl(std::string_view why) {
  // The URL itself is left out: its query may carry credentials.
  return absl::InvalidArgumentError("url: " + std::string(why));
}

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

bool ValidHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

// Resolves `target.host`, bounded by `deadline`. getaddrinfo cannot be interrupted,
// so the lookup runs detached: its handler owns the shared state, and this
// coroutine only waits on a timer that the handler cancels when it is done.
asio::awaitable<absl::StatusOr<std::vector<tcp::endpoint>>> Resolve(const Target& target,
                                                                    Clock::time_point deadline) {
  boost::system::error_code parse_ec;
  const asio::ip::address address = asio::ip::make_address(target.host, parse_ec);
  if (!parse_ec) co_return std::vector<tcp::endpoint>{tcp::endpoint(address, target.port)};

  struct Pending {
    explicit Pending(const asio::any_io_executor& ex) : resolver(ex), wake(ex) {}
    tcp::resolver resolver;
    asio::steady_timer wake;
    bool done = false;
    boost::system::error_code ec;
    std::vector<tcp::endpoint> endpoints;
  };
  auto pending = std::make_shared<Pending>(co_await asio::this_coro::executor);
  pending->wake.expires_at(deadline);
  pending->resolver.async_resolve(
      target.host, std::to_string(target.port), tcp::resolver::numeric_service,
      [pending](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
        pending->done = true;
        pending->ec = ec;
        for (const auto& entry : results) pending->endpoints.push_back(entry.endpoint());
        pending->wake.cancel();
      });
  auto [wait_ec] = co_await pending->wake.async_wait(kAsTuple);
  if (pending->done) {
    if (pending->ec) co_return ErrorStatus(pending->ec, "resolve", target);
    if (pending->endpoints.empty()) {
      co_return absl::UnavailableError("resolve " + target.Authority() + ": no addresses");
    }
    co_return std::move(pending->endpoints);
  }
  pending->resolver.cancel();
  if (!wait_ec)
    co_return absl::DeadlineExceededError("resolve " + target.Authority() + " timed out");
  co_return absl::CancelledError("resolve " + target.Authority() + " cancelled");
}

}  // namespace

Clock::time_point AddMillis(Clock::time_point now, int64_t ms) {
  const auto room =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  if (ms >= room.count()) return Clock::time_point::max();
  return now + std::chrono::milliseconds(ms);
}

std::string Target::Origin() const {
  return std::string(tls ? "https://" : "http://") + Authority();
}

std::string Target::Authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

absl::StatusOr<Target> ParseTarget(std::string_view url) {
  if (url.empty()) return BadUrl("empty");
  boost::system::result<urls::url_view> parsed = urls::parse_uri(url);
  if (!parsed) return BadUrl("not an absolute URL");
  const urls::url_view& u = *parsed;

  Target target;
  if (u.scheme_id() == urls::scheme::https) {
    target.tls = true;
  } else if (u.scheme_id() != urls::scheme::http) {
    return BadUrl("scheme must be http or https");
  }
  if (u.has_userinfo()) return BadUrl("credentials in the URL are not supported");

  switch (u.host_type()) {
    case urls::host_type::ipv4:
      target.host = u.host_ipv4_address().to_string();
      break;
    case urls::host_type::ipv6:
      target.host = u.host_ipv6_address().to_string();
      break;
    case urls::host_type::name:
      target.host = absl::AsciiStrToLower(std::string(u.host_name()));
      if (!ValidHostName(target.host)) return BadUrl("invalid host name");
      break;
    default:
      return BadUrl("missing or unsupported host");
  }

  const uint16_t default_port = target.tls ? 443 : 80;
  target.port = default_port;
  if (u.has_port() && !u.port().empty()) {
    // port_number() wraps out-of-range values, so parse the digits here.
    const std::string_view digits = u.port();
    uint32_t port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
      return BadUrl("invalid port");
    }
    target.port = static_cast<uint16_t>(port);
  }

  target.host_header =
      u.host_type() == urls::host_type::ipv6 ? "[" + target.host + "]" : target.host;
  if (target.port != default_port) target.host_header += ":" + std::to_string(target.port);

  target.request_target = std::string(u.encoded_path());
  if (target.request_target.empty()) target.request_target = "/";
  if (target.request_target.front() != '/') return BadUrl("invalid path");
  if (u.has_query()) target.request_target += "?" + std::string(u.encoded_query());
  return target;
}

// Beast reads min(free capacity, 64 KiB) at a time, never less than 512 bytes, and
// its parsers consume what they read: an empty buffer would stay at 512 bytes and a
// 1 KiB response would take three reads (and three trips through the event loop).
constexpr size_t kReadBufferBytes = 16 * 1024;

Connection::Connection(asio::any_io_executor executor)
    : stream_(std::in_place_type<PlainStream>, std::move(executor)) {
  buffer_.reserve(kReadBufferBytes);
}

Connection::Connection(asio::any_io_executor executor, asio::ssl::context& context)
    : stream_(std::in_place_type<TlsStream>, std::move(executor), context) {
  buffer_.reserve(kReadBufferBytes);
}

beast::tcp_stream& Connection::tcp() {
  if (TlsStream* s = tls()) return s->next_layer();
  return std::get<PlainStream>(stream_);
}

bool Connection::LooksAlive() {
  if (buffer_.size() != 0) return false;  // leftovers from the last response
  tcp::socket& socket = tcp().socket();
  if (!socket.is_open()) return false;
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;  // the peer closed
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  // Unread bytes: nobody asked plain HTTP for any, but TLS 1.3 servers may send
  // session tickets after the handshake.
  return is_tls();
}

void Connection::Close() {
  boost::system::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().close();
}

asio::awaitable<absl::StatusOr<std::unique_ptr<Connection>>> Connect(
    const Target& target, asio::ssl::context* tls_context, bool verify,
    Clock::time_point deadline) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto conn = target.tls ? std::make_unique<Connection>(executor, *tls_context)
                         : std::make_unique<Connection>(executor);

  absl::StatusOr<std::vector<tcp::endpoint>> endpoints = co_await Resolve(target, deadline);
  if (!endpoints.ok()) co_return endpoints.status();

  conn->tcp().expires_at(deadline);
  auto [connect_ec, endpoint] = co_await conn->tcp().async_connect(*endpoints, kAsTuple);
  if (connect_ec) co_return ErrorStatus(connect_ec, "connect to", target);
  boost::system::error_code ignored;
  conn->tcp().socket().set_option(tcp::no_delay(true), ignored);

  if (Connection::TlsStream* stream = conn->tls()) {
    // SNI carries names only (RFC 6066), never IP literals.
    if (!IsIpLiteral(target.host) &&
        SSL_set_tlsext_host_name(stream->native_handle(), target.host.c_str()) != 1) {
      co_return absl::UnavailableError("TLS: cannot set SNI for " + target.Authority());
    }
    if (verify) stream->set_verify_callback(asio::ssl::host_name_verification(target.host));
    auto [tls_ec] = co_await stream->async_handshake(asio::ssl::stream_base::client, kAsTuple);
    if (tls_ec) co_return ErrorStatus(tls_ec, "TLS handshake with", target, conn.get());
  }
  conn->tcp().expires_never();
  co_return conn;
}

absl::Status ErrorStatus(const boost::system::error_code& ec, std::string_view what,
                         const Target& target, Connection* conn) {
  const std::string where = std::string(what) + " " + target.Authority();
  if (ec == beast::error::timeout) return absl::DeadlineExceededError(where + " timed out");
  if (ec == asio::error::operation_aborted) return absl::CancelledError(where + " cancelled");
  if (ec == http::error::body_limit) {
    return absl::ResourceExhaustedError(where + ": response body too large");
  }
  if (ec == http::error::header_limit) {
    return absl::ResourceExhaustedError(where + ": response head too large");
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    return absl::UnavailableError(where + ": connection closed by peer");
  }
  if (ec.category() == asio::error::get_ssl_category()) {
    if (ERR_GET_REASON(ec.value()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      std::string detail;
      if (conn != nullptr && conn->tls() != nullptr) {
        const long result = SSL_get_verify_result(conn->tls()->native_handle());
        // host_name_verification rejects a name mismatch without naming an X509
        // error, which OpenSSL then reports as "unspecified".
        detail = result == X509_V_OK || result == X509_V_ERR_UNSPECIFIED
                     ? "certificate does not match host " + target.host
                     : X509_verify_cert_error_string(result);
      }
      return absl::UnavailableError(where + ": certificate verification failed" +
                                    (detail.empty() ? "" : ": " + detail));
    }
    return absl::UnavailableError(where + ": TLS error: " + ec.message());
  }
  if (ec.category() == make_error_code(http::error::need_more).category()) {
    return absl::UnavailableError(where + ": malformed HTTP response: " + ec.message());
  }
  return absl::UnavailableError(where + ": " + ec.message());
}

}  // namespace basalt::net::client_internal
