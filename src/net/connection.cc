#include "net/connection.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <cerrno>
#include <ctime>

#include "core/strings.h"
#include "core/ids.h"
#include "core/json_escape.h"
#include "core/log.h"
#include "core/status.h"
#include "net/h2_session.h"
#include "net/stream_writer.h"

namespace basalt::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr auto kRejectWriteTimeout = std::chrono::seconds(2);
constexpr auto kLingerAfterReject = std::chrono::seconds(2);

}  // namespace

std::string_view HttpDate() {
  thread_local std::time_t cached_second = 0;
  thread_local char buf[64];
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return buf;
}

namespace {

template <class Message>
void SetCommonHeaders(Message& h, std::string_view request_id, bool keep_alive) {
  h.set(http::field::server, "basalt");
  h.set(http::field::date, HttpDate());
  h.set("X-Request-Id", request_id);
  h.keep_alive(keep_alive);
}

}  // namespace

HttpResponse ErrorResponse(const absl::Status& status, ErrorStyle style,
                           std::string_view request_id) {
  HttpResponse r;
  r.status = HttpStatusOf(status);
  if (style == ErrorStyle::kAws && r.status == 401) {
    // AWS answers missing or unknown credentials with 403, not 401.
    r.status = 403;
  }
  if (style == ErrorStyle::kAws) {
    r.body = AwsErrorJson(status);
    r.headers.emplace_back("x-amzn-ErrorType", AwsErrorTypeOf(status));
    r.headers.emplace_back("x-amzn-RequestId", std::string(request_id));
  } else {
    r.body = ErrorEnvelopeJson(status, request_id);
  }
  bool has_retry_after = false;
  for (auto& [name, value] : ResponseHeadersOf(status)) {
    has_retry_after = has_retry_after || name == "Retry-After";
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  if (!has_retry_after && ((status.code() == absl::StatusCode::kResourceExhausted &&
                            r.status == 429) ||
                           status.code() == absl::StatusCode::kUnavailable)) {
    r.headers.emplace_back("Retry-After", "1");
  }
  if (r.status == 401 && style != ErrorStyle::kAws) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return r;
}

namespace {

// A request may use Transfer-Encoding only as HTTP/1.1, only with `chunked` as
// its last coding, and never together with Content-Length.
bool TransferEncodingAcceptable(const RawRequest& request) {
  auto it = request.find(http::field::transfer_encoding);
  if (it == request.end()) return true;
  if (request.version() < 11) return false;
  if (request.find(http::field::content_length) != request.end()) return false;
  std::string_view value = it->value();
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  const auto comma = value.rfind(',');
  std::string_view last = comma == std::string_view::npos ? value : value.substr(comma + 1);
  while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
  if (last.size() != 7) return false;
  for (size_t i = 0; i < 7; ++i) {
    if (std::tolower(static_cast<unsigned char>(last[i])) != "chunked"[i]) return false;
  }
  // Exactly one Transfer-Encoding field: several could be joined differently by a proxy.
  return request.count(http::field::transfer_encoding) == 1;
}

constexpr std::string_view kUnmatchedRoute = "unmatched";

bool IsDisconnect(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::bad_descriptor || ec == asio::error::broken_pipe;
}

}  // namespace

std::string_view RouteLabel(const RouteMatch& match) {
  return match.route ? std::string_view(match.route->pattern) : kUnmatchedRoute;
}

ServerMetrics::ServerMetrics(metrics::Registry& r)
    : requests(r.Counter("basalt_http_requests_total", "HTTP requests answered",
                         {"method", "route", "status"})),
      duration(r.Histogram("basalt_http_request_duration_seconds",
                           "Time from the first byte of a request to the end of its answer",
                           {"route"}, metrics::Registry::LatencyBuckets())),
      connections(r.Gauge("basalt_http_open_connections", "Open client connections")),
      in_flight(r.Gauge("basalt_http_requests_in_flight", "Requests being handled")),
      rejected(r.Counter("basalt_http_rejected_total",
                         "Requests or connections refused before routing", {"reason"})),
      bytes_in(r.Counter("basalt_http_request_bytes_total", "Request bytes received")),
      bytes_out(r.Counter("basalt_http_response_bytes_total", "Response bytes sent")),
      open_connections(connections.With({})),
      requests_in_flight(in_flight.With({})),
      request_bytes(bytes_in.With({})),
      response_bytes(bytes_out.With({})) {}

Worker::Worker(const ServerConfig& config, const Router& router, ServerMetrics& metrics,
               const Authenticator* authenticator, std::atomic<int64_t>& open_connections)
    : guard_(asio::make_work_guard(ioc_)),
      config_(config),
      router_(router),
      metrics_(metrics),
      authenticator_(authenticator),
      open_connections_(open_connections) {}

void Worker::Start(tcp::socket socket) {
  auto conn = std::make_shared<Connection>(*this, std::move(socket));
  asio::co_spawn(ioc_, [conn]() -> asio::awaitable<void> { co_await conn->Run(); }, asio::detached);
}

Worker::Series Worker::SeriesFor(std::string_view route, int verb, int status) {
  const auto key = std::make_tuple(route.data(), verb, status);
  auto it = series_.find(key);
  if (it != series_.end()) return it->second;
  char status_text[8];
  const int len = std::snprintf(status_text, sizeof(status_text), "%d", status);
  Series s{&metrics_.requests.With({http::to_string(static_cast<http::verb>(verb)), route,
                                    std::string_view(status_text, static_cast<size_t>(len))}),
           &metrics_.duration.With({route})};
  series_.emplace(key, s);
  return s;
}

void Worker::Drain() {
  draining_ = true;
  // Copy: closing may end connections, which erase themselves from the set.
  std::vector<Connection*> idle;
  std::vector<Connection*> busy;
  for (Connection* c : connections_) {
    (c->idle() ? idle : busy).push_back(c);
  }
  for (Connection* c : idle) c->Close();
  for (Connection* c : busy) c->Drain();
}

void Worker::CloseAll() {
  std::vector<Connection*> all(connections_.begin(), connections_.end());
  for (Connection* c : all) c->Close();
}

Connection::Connection(Worker& worker, tcp::socket socket)
    : worker_(worker), stream_(std::move(socket)) {
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = StrCat(endpoint.address().to_string(), ":", endpoint.port());
  stream_.socket().set_option(tcp::no_delay(true), ec);
  watch_ = [this] { return WatchDisconnect(); };
  worker_.connections_.insert(this);
  worker_.metrics().open_connections.Add(1);
}

Connection::~Connection() {
  worker_.connections_.erase(this);
  worker_.open_connections_.fetch_sub(1);
  worker_.metrics().open_connections.Add(-1);
}

void Connection::Close() {
  boost::system::error_code ec;
  stream_.socket().close(ec);
}

void Connection::Drain() {
  if (h2_) h2_->Drain();
}

asio::awaitable<void> Connection::Run() {
  const auto& cfg = worker_.config();
  bool first = true;
  for (;;) {
    if (buffer_.size() == 0) {
      state_ = State::kIdle;
      if (worker_.draining()) break;
      stream_.expires_after(std::chrono::milliseconds(cfg.idle_timeout_ms));
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk),
                                                      asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      buffer_.commit(n);
    }
    if (first) {
      // HTTP/2 with prior knowledge starts with its preface, never a valid HTTP/1.1 request.
      first = false;
      const auto* bytes = static_cast<const char*>(buffer_.data().data());
      if (MatchH2Preface(std::string_view(bytes, buffer_.size())) != PrefaceMatch::kNo) {
        const std::optional<bool> h2 = co_await StartsWithH2Preface();
        if (!h2.has_value()) break;
        if (*h2) {
          state_ = State::kHttp2;
          h2_ = std::make_shared<H2Session>(worker_, stream_, remote_);
          co_await h2_->Run(buffer_);
          break;
        }
      }
    }
    state_ = State::kReading;
    const auto started = Clock::now();
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(cfg.max_header_bytes));
    parser.body_limit(static_cast<uint64_t>(cfg.max_body_bytes));
    stream_.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
    const size_t before = buffer_.size();
    auto [ec, n] = co_await ReadRequest(parser);
    request_bytes_ = n + before - buffer_.size();
    if (ec) {
      if (ec == http::error::header_limit) {
        co_await RejectAndClose(HeadersTooLarge(StrCat(
            "request headers exceed server.max_header_bytes (", cfg.max_header_bytes, " bytes)")), started);
      } else if (ec == http::error::body_limit) {
        co_await RejectAndClose(PayloadTooLarge(StrCat(
            "request body exceeds server.max_body_bytes (", cfg.max_body_bytes, " bytes)")), started);
      } else if (ec == beast::error::timeout) {
        // tcp_stream has already closed the socket: a client this slow is just dropped.
        worker_.metrics().rejected.With({"read_timeout"}).Inc();
        log::Debug("dropped a slow client", {{"remote", remote_}, {"read_timeout_ms", cfg.read_timeout_ms}});
      } else if (!IsDisconnect(ec)) {
        co_await RejectAndClose(absl::InvalidArgumentError(StrCat(
            "malformed HTTP request: ", ec.message())), started);
      }
      break;
    }
    state_ = State::kHandling;
    worker_.metrics().requests_in_flight.Add(1);
    const bool keep_going = co_await Handle(parser.get(), started);
    worker_.metrics().requests_in_flight.Add(-1);
    if (!keep_going) break;
  }
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

asio::awaitable<std::optional<bool>> Connection::StartsWithH2Preface() {
  for (;;) {
    const auto* data = static_cast<const char*>(buffer_.data().data());
    switch (MatchH2Preface(std::string_view(data, buffer_.size()))) {
      case PrefaceMatch::kNo: co_return false;
      case PrefaceMatch::kYes: co_return true;
      case PrefaceMatch::kPartial: break;
    }
    stream_.expires_after(std::chrono::milliseconds(worker_.config().read_timeout_ms));
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk),
                                                    asio::as_tuple(asio::use_awaitable));
    if (ec) co_return std::nullopt;
    buffer_.commit(n);
  }
}

asio::awaitable<std::tuple<boost::system::error_code, size_t>> Connection::ReadRequest(
    http::request_parser<http::string_body>& parser) {
  auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser,
                                                  asio::as_tuple(asio::use_awaitable));
  if (ec) co_return std::make_tuple(ec, n);
  // Beast reads a request whose Transfer-Encoding does not end in `chunked` as
  // having no body, which would let the body be run as a second request
  // (smuggling). RFC 9112 section 6.3 says: answer 400 and close.
  if (!TransferEncodingAcceptable(parser.get())) {
    co_return std::make_tuple(boost::system::error_code(http::error::bad_transfer_encoding), n);
  }
  if (parser.is_done()) co_return std::make_tuple(ec, n);
  // Clients such as curl send `Expect: 100-continue` with larger bodies and wait
  // for this interim answer before sending the body.
  if (parser.get()[http::field::expect] == "100-continue") {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [wec, wn] = co_await asio::async_write(stream_, asio::buffer(kContinue),
                                                asio::as_tuple(asio::use_awaitable));
    if (wec) co_return std::make_tuple(wec, n);
  }
  auto [bec, bn] = co_await http::async_read(stream_, buffer_, parser, asio::as_tuple(asio::use_awaitable));
  co_return std::make_tuple(bec, n + bn);
}

asio::awaitable<void> Connection::RejectAndClose(absl::Status status, Clock::time_point started) {
  const std::string request_id = NewId("req_");
  HttpResponse response = ErrorResponse(status, ErrorStyle::kNative, request_id);
  const int code = response.status;
  worker_.metrics().rejected.With({std::to_string(code)}).Inc();
  http::response<http::string_body> res{static_cast<http::status>(code), 11};
  SetCommonHeaders(res, request_id, false);
  res.set(http::field::content_type, response.content_type);
  for (const auto& [k, v] : response.headers) res.set(k, v);
  res.body() = std::move(response.body);
  res.prepare_payload();
  stream_.expires_after(kRejectWriteTimeout);
  auto [ec, n] = co_await http::async_write(stream_, res, asio::as_tuple(asio::use_awaitable));
  response_bytes_ = n;
  Record(static_cast<int>(http::verb::unknown), "-", "unread", code, request_id, started);
  if (ec) co_return;
  // Stop sending, then drain what the client is still sending for a moment, so
  // the kernel does not answer its unread bytes with a reset that would destroy
  // the error response before the client reads it. Bounded in time and memory.
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  const auto until = Clock::now() + kLingerAfterReject;
  char sink[4096];
  while (Clock::now() < until) {
    stream_.expires_at(until);
    auto [rec, rn] = co_await stream_.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (rec) break;
  }
}

asio::awaitable<void> Connection::WatchDisconnect() {
  for (;;) {
    auto [ec] = co_await stream_.socket().async_wait(tcp::socket::wait_read,
                                                     asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled because the handler finished, or the socket closed
    char probe;
    const ssize_t n = ::recv(stream_.socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      co_return;  // the client went away
    }
    if (n > 0) {
      // A pipelined request is waiting; disconnects can no longer be seen
      // without consuming it, so wait until the handler finishes.
      asio::steady_timer forever(stream_.get_executor(), asio::steady_timer::time_point::max());
      co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
      co_return;
    }
  }
}

asio::awaitable<absl::StatusOr<HttpResponse>> DispatchRequest(Worker& worker,
                                                              HttpRequest& request,
                                                              const RouteMatch& match,
                                                              const DisconnectWatch& watch) {
  if (match.route == nullptr) {
    if (match.bad_escape) co_return absl::InvalidArgumentError("path: invalid percent-escape");
    if (!match.allow.empty()) {
      co_return MethodNotAllowed(StrCat("method ", std::string_view(request.raw.method_string()),
                                              " is not allowed on ", request.path, "; allowed: ",
                                              match.allow));
    }
    co_return absl::NotFoundError(StrCat("no route for ", request.path));
  }
  if (!match.route->options.public_route && worker.authenticator() != nullptr) {
    absl::Status auth =
        co_await worker.authenticator()->Authenticate(request, match.route->options.auth);
    if (!auth.ok()) co_return auth;
    auth = worker.authenticator()->Authorize(request, match.route->options.permission);
    if (!auth.ok()) co_return auth;
  }
  request.params = match.params;
  try {
    if (match.route->options.cancel_on_disconnect) {
      using namespace asio::experimental::awaitable_operators;
      auto outcome = co_await (match.route->handler(request) || watch());
      if (outcome.index() == 1) co_return absl::CancelledError("the client disconnected");
      co_return std::move(std::get<0>(outcome));
    }
    co_return co_await match.route->handler(request);
  } catch (const std::exception& e) {
    // Handlers must not throw; this keeps a bug from taking the connection down silently.
    log::Error("handler threw", {{"request_id", request.ctx.request_id}, {"what", e.what()}});
    co_return absl::InternalError("internal error");
  }
}

void PrepareRequest(const Worker& worker, HttpRequest& request,
                    std::chrono::steady_clock::time_point started, std::string_view remote) {
  request.ctx.remote = std::string(remote);
  std::string_view incoming_id = request.Header("x-request-id");
  request.ctx.request_id = IsValidRequestId(incoming_id) ? std::string(incoming_id) : NewId("req_");
  request.ctx.trace_id = request.ctx.request_id;
  request.ctx.deadline = started + std::chrono::milliseconds(worker.config().request_timeout_ms);
  std::string_view target = request.raw.target();
  const auto q = target.find('?');
  request.path = target.substr(0, q);
  if (q != std::string_view::npos) request.query = target.substr(q + 1);
}

std::optional<HttpResponse> ResponseFor(absl::StatusOr<HttpResponse>&& result,
                                        const RouteMatch& match, std::string_view request_id) {
  if (result.ok()) return std::move(*result);
  if (result.status().code() == absl::StatusCode::kCancelled) return std::nullopt;
  const ErrorStyle style = match.route ? match.route->options.error_style : ErrorStyle::kNative;
  HttpResponse response = ErrorResponse(result.status(), style, request_id);
  if (!match.route && !match.allow.empty()) response.headers.emplace_back("Allow", match.allow);
  return response;
}

asio::awaitable<bool> Connection::Handle(RawRequest& raw, Clock::time_point started) {
  HttpRequest request(raw);
  PrepareRequest(worker_, request, started, remote_);
  std::string_view target = raw.target();
  const RouteMatch match = worker_.router().Match(raw.method_string(), request.path);
  absl::StatusOr<HttpResponse> result = co_await DispatchRequest(worker_, request, match, watch_);

  bool keep_alive = raw.keep_alive() && !worker_.draining();
  bool ok = true;
  std::optional<HttpResponse> answer = ResponseFor(std::move(result), match, request.ctx.request_id);
  if (!answer.has_value()) {
    Record(static_cast<int>(raw.method()), target, RouteLabel(match), 499,
           request.ctx.request_id, started);
    co_return false;  // the client is gone; nobody to answer
  }
  HttpResponse& response = *answer;
  if (response.stream) {
    ok = co_await WriteStream(raw, response, keep_alive, request.ctx.request_id);
  } else {
    ok = co_await WriteWhole(&raw, response, keep_alive, request.ctx.request_id);
  }
  Record(static_cast<int>(raw.method()), target, RouteLabel(match), response.status,
         request.ctx.request_id, started);
  co_return ok && keep_alive;
}

asio::awaitable<bool> Connection::WriteWhole(const RawRequest* raw, HttpResponse& response,
                                             bool keep_alive, std::string_view request_id) {
  const auto timeout = std::chrono::milliseconds(worker_.config().write_timeout_ms);
  const bool head = raw != nullptr && raw->method() == http::verb::head;
  http::response<http::string_body> res{static_cast<http::status>(response.status),
                                        raw ? raw->version() : 11};
  SetCommonHeaders(res, request_id, keep_alive);
  res.set(http::field::content_type, response.content_type);
  for (const auto& [k, v] : response.headers) res.set(k, v);
  const size_t body_size = response.body.size();
  if (!head) res.body() = std::move(response.body);
  res.prepare_payload();
  if (head) res.content_length(body_size);
  stream_.expires_after(timeout);
  boost::system::error_code ec;
  size_t n = 0;
  if (head) {
    http::response_serializer<http::string_body> sr{res};
    std::tie(ec, n) = co_await http::async_write_header(stream_, sr, asio::as_tuple(asio::use_awaitable));
  } else {
    std::tie(ec, n) = co_await http::async_write(stream_, res, asio::as_tuple(asio::use_awaitable));
  }
  response_bytes_ = n;
  co_return !ec;
}

asio::awaitable<bool> Connection::WriteStream(const RawRequest& raw, HttpResponse& response,
                                              bool keep_alive, std::string_view request_id) {
  const auto timeout = std::chrono::milliseconds(worker_.config().write_timeout_ms);
  http::response<http::empty_body> res{static_cast<http::status>(response.status), raw.version()};
  SetCommonHeaders(res, request_id, keep_alive);
  res.set(http::field::content_type, response.content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");
  for (const auto& [k, v] : response.headers) res.set(k, v);
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  stream_.expires_after(timeout);
  auto [ec, n] = co_await http::async_write_header(stream_, sr, asio::as_tuple(asio::use_awaitable));
  if (ec) co_return false;
  ChunkedStreamWriter writer(stream_, timeout);
  // Watch the client while relaying: a producer waiting on an upstream that has
  // gone quiet would otherwise not notice a client that left until its next write.
  absl::Status status;
  {
    using namespace asio::experimental::awaitable_operators;
    auto outcome = co_await (response.stream(writer) || WatchDisconnect());
    if (outcome.index() == 1) co_return false;  // the client went away; the producer was cancelled
    status = std::get<0>(std::move(outcome));
  }
  if (!status.ok() && !writer.failed()) {
    log::Warn("stream ended with an error", {{"request_id", request_id}, {"error", status.ToString()}});
  }
  bool ok = !writer.failed() && (co_await writer.Finish()).ok();
  response_bytes_ = n + writer.bytes_written();
  co_return ok;
}

void Connection::Record(int verb, std::string_view target, std::string_view route, int status,
                        std::string_view request_id, Clock::time_point started) {
  const RequestRecord record{verb,    target,         route,           status, request_id,
                             started, request_bytes_, response_bytes_, remote_};
  RecordRequest(worker_, record);
}

void RecordRequest(Worker& worker, const RequestRecord& r) {
  auto& m = worker.metrics();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - r.started).count();
  const Worker::Series series = worker.SeriesFor(r.route, r.verb, r.status);
  series.requests->Inc();
  series.duration->Observe(seconds);
  m.request_bytes.Inc(static_cast<double>(r.bytes_in));
  m.response_bytes.Inc(static_cast<double>(r.bytes_out));
  const std::string_view method = http::to_string(static_cast<http::verb>(r.verb));
  if (!worker.config().access_log || !log::Enabled(log::Level::kInfo)) return;
  std::string line;
  line.reserve(256);
  StrAppend(&line, R"({"ts":")", log::NowIso8601(), R"(","level":"info","msg":"access","request_id":")");
  AppendJsonEscaped(line, r.request_id);
  line += R"(","method":")";
  AppendJsonEscaped(line, method);
  line += R"(","target":")";
  AppendJsonEscaped(line, r.target.substr(0, 512));
  StrAppend(&line, R"(","status":)", r.status, R"(,"duration_ms":)", seconds * 1000.0,
                  R"(,"bytes_in":)", r.bytes_in, R"(,"bytes_out":)", r.bytes_out,
                  R"(,"remote":")", r.remote, "\"}");
  log::WriteRaw(std::move(line));
}

}  // namespace basalt::net
