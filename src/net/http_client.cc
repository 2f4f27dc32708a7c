#include "net/http_client.h"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/none.hpp>
#include <boost/optional/optional.hpp>
#include <boost/system/system_error.hpp>
#include <optional>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "core/log.h"
#include "net/http_connection.h"
#include "net/http_pool.h"
#include "net/http_tls.h"

#ifndef BASALT_VERSION
#define BASALT_VERSION "dev"
#endif

namespace basalt::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using client_internal::AddMillis;
using client_internal::Clock;
using client_internal::Connection;
using client_internal::ErrorStatus;
using client_internal::HostPool;
using client_internal::kAsTuple;
using client_internal::Lease;
using client_internal::Target;

namespace {

constexpr size_t kStreamChunkBytes = 16 * 1024;

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// A request ready to send: where, what, and by when.
struct Prepared {
  Target target;
  http::request<http::string_body> message;
  Clock::time_point deadline;
  bool head = false;       // a HEAD response has no body whatever its headers say
  bool keep_alive = true;  // false if the caller sent "Connection: close"
};

absl::StatusOr<Prepared> Prepare(const HttpClientConfig& config, ClientRequest request) {
  absl::StatusOr<Target> target = client_internal::ParseTarget(request.url);
  if (!target.ok()) return target.status();
  if (!IsToken(request.method)) return absl::InvalidArgumentError("method: not an HTTP token");

  Prepared p;
  p.target = *std::move(target);
  p.deadline = std::min(request.deadline, AddMillis(Clock::now(), config.total_timeout_ms));
  p.head = request.method == "HEAD";
  http::request<http::string_body>& m = p.message;
  m.version(11);
  m.method_string(request.method);
  m.target(p.target.request_target);
  m.set(http::field::host, p.target.host_header);
  m.set(http::field::user_agent, "basalt/" BASALT_VERSION);
  for (const auto& [name, value] : request.headers) {
    if (!IsToken(name)) return absl::InvalidArgumentError("headers: invalid header name");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return absl::InvalidArgumentError("headers: value of " + name + " contains CR, LF or NUL");
    }
    // Framing comes from `body`; the caller cannot contradict it.
    if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding")) {
      continue;
    }
    if (EqualsIgnoreCase(name, "host") || EqualsIgnoreCase(name, "user-agent")) {
      m.set(name, value);
    } else {
      m.insert(name, value);
    }
  }
  m.body() = std::move(request.body);
  m.prepare_payload();
  p.keep_alive = m.keep_alive();
  return p;
}

HttpHeaders CopyHeaders(const http::fields& fields) {
  HttpHeaders out;
  for (const auto& field : fields) {
    out.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

absl::Status FromException(const std::exception& e) {
  if (const auto* se = dynamic_cast<const boost::system::system_error*>(&e)) {
    if (se->code() == asio::error::operation_aborted) {
      return absl::CancelledError("HTTP request cancelled");
    }
    return absl::UnavailableError(std::string("HTTP request failed: ") + se->what());
  }
  return absl::InternalError(std::string("HTTP client: ") + e.what());
}

}  // namespace

std::string_view FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

// ----------------------------------------------------------------------------------
// Shared state: owned by the client and by every call in flight.

struct HttpClient::State {
  asio::any_io_executor executor;
  HttpClientConfig config;
  std::shared_ptr<asio::ssl::context> tls;  // shared by every client in the process
  std::unordered_map<std::string, std::shared_ptr<HostPool>> pools;
  Clock::time_point last_sweep = Clock::now();

  // The pool of `target`'s origin. Every few seconds idle connections past their
  // timeout are closed in all pools, and pools with nothing in them forgotten.
  std::shared_ptr<HostPool> PoolFor(const Target& target) {
    const Clock::time_point now = Clock::now();
    if (now - last_sweep >= std::chrono::seconds(1)) {
      last_sweep = now;
      for (auto it = pools.begin(); it != pools.end();) {
        it->second->DropExpired(now);
        it = it->second->unused() ? pools.erase(it) : std::next(it);
      }
    }
    std::shared_ptr<HostPool>& pool = pools[target.Origin()];
    if (!pool) {
      pool = std::make_shared<HostPool>(executor, target.Origin(), config.max_connections_per_host,
                                        std::chrono::milliseconds(config.idle_timeout_ms));
    }
    return pool;
  }

  // Sends `p` and reads the response head into `parser` (emplaced per attempt), on
  // a connection from the pool held by `lease`. A reused connection that fails
  // before any response byte arrives may have been closed by the server while idle:
  // the exchange is retried once on a fresh connection.
  // `body_limit` (none: unlimited) is checked against Content-Length with the head.
  template <typename Parser>
  asio::awaitable<absl::Status> Exchange(Prepared& p, Lease& lease, std::optional<Parser>& parser,
                                         boost::optional<std::uint64_t> body_limit) {
    std::shared_ptr<HostPool> pool = PoolFor(p.target);
    for (int attempt = 0;; ++attempt) {
      if (Clock::now() >= p.deadline) {
        co_return absl::DeadlineExceededError("request to " + p.target.Authority() + " timed out");
      }
      if (!lease.valid()) {
        absl::StatusOr<Lease> acquired = co_await pool->Acquire(p.deadline);
        if (!acquired.ok()) co_return acquired.status();
        lease = *std::move(acquired);
      }
      if (lease.conn() == nullptr) {
        const Clock::time_point connect_deadline =
            std::min(p.deadline, AddMillis(Clock::now(), config.connect_timeout_ms));
        absl::StatusOr<std::unique_ptr<Connection>> conn = co_await client_internal::Connect(
            p.target, tls.get(), config.verify_tls, connect_deadline);
        if (!conn.ok()) co_return conn.status();
        lease.Attach(*std::move(conn));
      }
      Connection& conn = *lease.conn();
      conn.tcp().expires_at(p.deadline);
      auto new_parser = [&] {
        parser.emplace();
        parser->header_limit(static_cast<std::uint32_t>(kMaxResponseHeaderBytes));
        parser->body_limit(body_limit);
        if (p.head) parser->skip(true);
      };
      new_parser();

      auto [ec, unused_bytes] = co_await conn.Visit(
          [&](auto& stream) { return http::async_write(stream, p.message, kAsTuple); });
      const char* phase = "send request to";
      bool got_some = false;
      while (!ec) {
        phase = "read response from";
        std::tie(ec, unused_bytes) = co_await conn.Visit([&](auto& stream) {
          return http::async_read_header(stream, conn.buffer(), *parser, kAsTuple);
        });
        got_some = got_some || parser->got_some();
        // Interim 1xx responses (103 Early Hints, an unasked-for 100 Continue) are
        // skipped; the final response follows on the same connection.
        const unsigned status = parser->get().result_int();
        if (ec || status < 100 || status >= 200 || status == 101) break;
        new_parser();
      }
      if (!ec) co_return absl::OkStatus();

      const bool stale = conn.reused() && !got_some && ec != beast::error::timeout &&
                         ec != asio::error::operation_aborted;
      absl::Status status = ErrorStatus(ec, phase, p.target, &conn);
      lease.Discard();
      if (!stale || attempt > 0) co_return status;
      log::Debug("http_client: retrying on a fresh connection",
                 {{"origin", p.target.Origin()}, {"error", status.ToString()}});
    }
  }

  asio::awaitable<absl::StatusOr<ClientResponse>> Send(ClientRequest request) {
    absl::StatusOr<Prepared> p = Prepare(config, std::move(request));
    if (!p.ok()) co_return p.status();
    Lease lease;
    std::optional<http::response_parser<http::string_body>> parser;
    if (absl::Status s = co_await Exchange(*p, lease, parser, kMaxResponseBodyBytes); !s.ok()) {
      co_return s;
    }

    Connection& conn = *lease.conn();
    if (!parser->is_done()) {
      auto [ec, unused_bytes] = co_await conn.Visit(
          [&](auto& stream) { return http::async_read(stream, conn.buffer(), *parser, kAsTuple); });
      if (ec) co_return ErrorStatus(ec, "read response from", p->target, &conn);
    }
    const bool keep_alive = parser->keep_alive();
    http::response<http::string_body> message = parser->release();
    ClientResponse response;
    response.status = static_cast<int>(message.result_int());
    response.headers = CopyHeaders(message.base());
    response.body = std::move(message.body());
    if (keep_alive && p->keep_alive && response.status != 101) lease.Return();
    co_return response;
  }
};

// ----------------------------------------------------------------------------------
// ClientStream

struct ClientStream::State {
  std::shared_ptr<HttpClient::State> client;
  Target target;
  Lease lease;
  std::optional<http::response_parser<http::buffer_body>> parser;
  HttpHeaders headers;
  int status = 0;
  bool reusable = true;  // the request allowed keep-alive and did not switch protocols
  bool done = false;
  absl::Status error;  // sticky

  // At the end of the body: the connection goes back to the pool if it can.
  void Finish() {
    done = true;
    if (reusable && parser->keep_alive()) {
      lease.Return();
    } else {
      lease = Lease();
    }
  }

  void Fail(absl::Status status) {
    error = std::move(status);
    lease = Lease();  // closes the connection
  }

  asio::awaitable<absl::StatusOr<std::string>> Next() {
    if (!error.ok()) co_return error;
    if (done) co_return std::string();
    Connection& conn = *lease.conn();
    std::string chunk(kStreamChunkBytes, '\0');
    while (true) {
      http::buffer_body::value_type& body = parser->get().body();
      body.data = chunk.data();
      body.size = chunk.size();
      auto [ec, unused_bytes] = co_await conn.Visit([&](auto& stream) {
        return http::async_read_some(stream, conn.buffer(), *parser, kAsTuple);
      });
      if (ec == http::error::need_buffer) ec = {};  // the chunk is full
      if (ec) {
        Fail(ErrorStatus(ec, "read response body from", target, &conn));
        co_return error;
      }
      const size_t got = chunk.size() - parser->get().body().size;
      if (parser->is_done()) Finish();
      if (got > 0) {
        chunk.resize(got);
        co_return chunk;
      }
      if (done) co_return std::string();
    }
  }
};

ClientStream::ClientStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
ClientStream::~ClientStream() = default;
int ClientStream::status() const { return state_->status; }
const HttpHeaders& ClientStream::headers() const { return state_->headers; }

asio::awaitable<absl::StatusOr<std::string>> ClientStream::Next() {
  try {
    co_return co_await state_->Next();
  } catch (const std::exception& e) {
    state_->Fail(FromException(e));
    co_return state_->error;
  }
}

// ----------------------------------------------------------------------------------
// HttpClient

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(asio::any_io_executor executor,
                                                               const HttpClientConfig& config) {
  if (config.connect_timeout_ms <= 0 || config.total_timeout_ms <= 0 ||
      config.max_connections_per_host <= 0 || config.idle_timeout_ms < 0) {
    return absl::InvalidArgumentError(
        "http_client: timeouts and max_connections_per_host must be positive");
  }
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> tls =
      client_internal::SharedTlsContext(config);
  if (!tls.ok()) return tls.status();
  auto state = std::make_shared<State>();
  state->executor = std::move(executor);
  state->config = config;
  state->tls = *std::move(tls);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(state)));
}

HttpClient::HttpClient(std::shared_ptr<State> state) : state_(std::move(state)) {}
HttpClient::~HttpClient() = default;

asio::awaitable<absl::StatusOr<ClientResponse>> HttpClient::Send(ClientRequest request) {
  std::shared_ptr<State> state = state_;  // outlives this client if need be
  try {
    co_return co_await state->Send(std::move(request));
  } catch (const std::exception& e) {
    co_return FromException(e);
  }
}

asio::awaitable<absl::StatusOr<std::unique_ptr<ClientStream>>> HttpClient::Open(
    ClientRequest request) {
  std::shared_ptr<State> state = state_;
  try {
    absl::StatusOr<Prepared> p = Prepare(state->config, std::move(request));
    if (!p.ok()) co_return p.status();
    auto stream = std::make_unique<ClientStream::State>();
    stream->client = state;
    stream->target = p->target;
    if (absl::Status s = co_await state->Exchange(*p, stream->lease, stream->parser, boost::none);
        !s.ok()) {
      co_return s;
    }
    stream->status = static_cast<int>(stream->parser->get().result_int());
    stream->reusable = p->keep_alive && stream->status != 101;
    stream->headers = CopyHeaders(stream->parser->get().base());
    if (stream->parser->is_done()) stream->Finish();
    co_return std::make_unique<ClientStream>(std::move(stream));
  } catch (const std::exception& e) {
    co_return FromException(e);
  }
}

size_t HttpClient::IdleConnectionsForTest() const {
  size_t idle = 0;
  for (const auto& [origin, pool] : state_->pools) idle += pool->idle();
  return idle;
}

}  // namespace basalt::net
