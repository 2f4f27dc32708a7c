// The stream side of H2Session: one request's routing and answer, through the
// handling HTTP/1.1 uses (connection.h), with its response as HEADERS and DATA.
#include "net/h2_stream.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/log.h"
#include "net/h2_session.h"

namespace basalt::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

using Clock = std::chrono::steady_clock;

// The route label of requests refused before routing, as for HTTP/1.1.
constexpr std::string_view kUnreadRoute = "unread";

// Headers that mean something only to one HTTP/1.1 connection (RFC 9113 section 8.2.2).
bool IsConnectionSpecific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "content-length";
}

nghttp2_nv Nv(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values while submitting; it never writes through these.
  return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
          const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

// nghttp2's data source for a response body: the stream's `out`. Defers while a
// streaming response has nothing queued and has not ended.
ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                 nghttp2_data_source* source, void*) {
  H2Stream& s = *static_cast<H2Stream*>(source->ptr);
  const size_t n = std::min(length, s.out.size() - s.out_offset);
  if (n > 0) {
    std::memcpy(buf, s.out.data() + s.out_offset, n);
    s.out_offset += n;
    s.bytes_out += n;
    s.last_progress = Clock::now();
  }
  if (s.out_offset == s.out.size()) {
    s.out_offset = 0;
    if (s.out_end) {
      std::string().swap(s.out);
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else {
      s.out.clear();
    }
    try {
      s.drained.cancel();  // wakes a Write waiting for nghttp2 to take its bytes
    } catch (const std::exception&) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream; its writer times out
    }
    if (n == 0 && !s.out_end) {
      s.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace

asio::awaitable<absl::Status> H2StreamWriter::Write(std::string_view data) {
  if (failed_) co_return absl::UnavailableError("the client connection is gone");
  if (data.empty()) co_return absl::OkStatus();
  absl::Status status = co_await session_.QueueData(stream_, data);
  if (!status.ok()) {
    failed_ = true;
    co_return status;
  }
  bytes_written_ += data.size();
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> H2StreamWriter::Finish() {
  if (failed_) co_return absl::UnavailableError("the client connection is gone");
  absl::Status status = session_.EndData(stream_);
  if (!status.ok()) failed_ = true;
  co_return status;
}

asio::awaitable<void> H2Session::RunStream(std::shared_ptr<H2Stream> stream) {
  H2Stream& s = *stream;
  ServerMetrics& metrics = worker_.metrics();
  metrics.requests_in_flight.Add(1);
  HttpRequest request(s.raw);
  PrepareRequest(worker_, request, s.started, remote_);
  std::optional<HttpResponse> answer;
  RouteMatch match;
  std::string_view route = kUnreadRoute;
  if (!s.rejection.ok()) {
    answer = ErrorResponse(s.rejection, ErrorStyle::kNative, request.ctx.request_id);
    metrics.rejected.With({std::to_string(answer->status)}).Inc();
  } else {
    match = worker_.router().Match(s.raw.method_string(), request.path);
    route = RouteLabel(match);
    H2Stream* watched = &s;
    const DisconnectWatch watch = [this, watched] { return WaitClosed(*watched); };
    absl::StatusOr<HttpResponse> result = co_await DispatchRequest(worker_, request, match, watch);
    answer = ResponseFor(std::move(result), match, request.ctx.request_id);
  }
  int status = 499;  // the client went away before the answer
  if (answer.has_value() && !s.closed && !ended_) {
    status = answer->status;
    if (answer->stream) {
      co_await SendStream(s, *answer, request.ctx.request_id);
    } else if (SubmitResponse(s, *answer, request.ctx.request_id, false)) {
      co_await WaitSent(s);
    }
  } else {
    ResetStream(s, NGHTTP2_CANCEL);
  }
  RecordStream(s, route, status, request.ctx.request_id);
  metrics.requests_in_flight.Add(-1);
  --handlers_;
  CoroutineDone();
}

asio::awaitable<void> H2Session::SendStream(H2Stream& s, HttpResponse& response,
                                            std::string_view request_id) {
  if (!SubmitResponse(s, response, request_id, true)) co_return;
  H2StreamWriter writer(*this, s);
  absl::Status status;
  {
    using namespace asio::experimental::awaitable_operators;
    auto outcome = co_await (response.stream(writer) || WaitClosed(s));
    if (outcome.index() == 1) co_return;  // the stream or connection closed; the producer stopped
    status = std::get<0>(std::move(outcome));
  }
  if (!status.ok() && !writer.failed()) {
    log::Warn("stream ended with an error",
              {{"request_id", request_id}, {"error", status.ToString()}});
  }
  if (writer.failed()) co_return;
  const absl::Status finished = co_await writer.Finish();  // kept out of the condition (g++ 12)
  if (finished.ok()) co_await WaitSent(s);
}

bool H2Session::SubmitResponse(H2Stream& s, HttpResponse& response, std::string_view request_id,
                               bool streaming) {
  const std::string status_text = std::to_string(response.status);
  const bool head = s.raw.method() == http::verb::head;
  const std::string length = std::to_string(response.body.size());
  std::vector<std::string> names;  // lowercased; reserved so the views stay put
  names.reserve(response.headers.size());
  std::vector<nghttp2_nv> nva;
  nva.reserve(8 + response.headers.size());
  auto add = [&](std::string_view name, std::string_view value) {
    nva.push_back(Nv(name, value));
    s.bytes_out += name.size() + value.size();
  };
  add(":status", status_text);
  add("content-type", response.content_type);
  add("server", "basalt");
  add("date", HttpDate());
  add("x-request-id", request_id);
  if (streaming) {
    add("cache-control", "no-cache");
    add("x-accel-buffering", "no");
  } else {
    add("content-length", length);
  }
  for (const auto& [key, value] : response.headers) {
    std::string name(key);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (IsConnectionSpecific(name)) continue;
    names.push_back(std::move(name));
    add(names.back(), value);
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = &s;
  provider.read_callback = &ReadBody;
  if (!streaming) {
    s.out = head ? std::string() : std::move(response.body);
    s.out_offset = 0;
    s.out_end = true;
  }
  const bool has_body = streaming || !s.out.empty();
  const int rv = nghttp2_submit_response(session_, s.id, nva.data(), nva.size(),
                                         has_body ? &provider : nullptr);
  if (rv != 0) {
    log::Warn("HTTP/2: could not submit a response",
              {{"request_id", request_id}, {"error", nghttp2_strerror(rv)}});
    ResetStream(s, NGHTTP2_INTERNAL_ERROR);
    return false;
  }
  s.last_progress = Clock::now();
  Kick();
  return true;
}

asio::awaitable<absl::Status> H2Session::QueueData(H2Stream& s, std::string_view data) {
  if (s.closed || ended_) co_return absl::UnavailableError("the client connection is gone");
  s.out.append(data.data(), data.size());
  s.last_progress = Clock::now();
  Resume(s);
  const auto timeout = std::chrono::milliseconds(worker_.config().write_timeout_ms);
  while (!s.out.empty() && !s.closed) {
    const Clock::time_point deadline = s.last_progress + timeout;
    if (Clock::now() >= deadline) {
      ResetStream(s, NGHTTP2_CANCEL);
      co_return absl::UnavailableError("writing to the client timed out");
    }
    s.drained.expires_at(deadline);
    co_await s.drained.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (s.closed) co_return absl::UnavailableError("the client connection is gone");
  co_return absl::OkStatus();
}

absl::Status H2Session::EndData(H2Stream& s) {
  if (s.closed || ended_) return absl::UnavailableError("the client connection is gone");
  s.out_end = true;
  Resume(s);
  return absl::OkStatus();
}

void H2Session::Resume(H2Stream& s) {
  if (ended_ || s.closed) return;
  if (s.deferred) {
    s.deferred = false;
    nghttp2_session_resume_data(session_, s.id);
  }
  Kick();
}

asio::awaitable<void> H2Session::WaitClosed(H2Stream& s) {
  if (!s.closed) co_await s.closed_signal.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> H2Session::WaitSent(H2Stream& s) {
  const auto timeout = std::chrono::milliseconds(worker_.config().write_timeout_ms);
  while (!s.closed) {
    const Clock::time_point deadline = s.last_progress + timeout;
    if (Clock::now() >= deadline) {
      ResetStream(s, NGHTTP2_CANCEL);  // the client took none of the answer for too long
      break;
    }
    s.drained.expires_at(deadline);
    co_await s.drained.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void H2Session::ResetStream(H2Stream& s, uint32_t error_code) {
  if (s.closed || ended_) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, error_code);
  Kick();
}

void H2Session::RecordStream(const H2Stream& s, std::string_view route, int status,
                             std::string_view request_id) {
  const RequestRecord record{static_cast<int>(s.raw.method()),
                             s.raw.target(),
                             route,
                             status,
                             request_id,
                             s.started,
                             s.bytes_in,
                             s.bytes_out,
                             remote_};
  RecordRequest(worker_, record);
}

}  // namespace basalt::net
