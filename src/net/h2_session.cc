// The connection side of H2Session: nghttp2's server session, its callbacks,
// the reader, the writer and the deadlines. The stream side is h2_stream.cc.
#include "net/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <exception>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>

#include "core/log.h"
#include "core/status.h"
#include "core/strings.h"
#include "net/h2_stream.h"

namespace basalt::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kWriteBatch = 64 * 1024;
constexpr uint32_t kMaxConcurrentStreams = 100;
constexpr int32_t kWindow = 1 << 20;
// Handlers may outlive their streams (a client that resets a stream does not
// stop a handler that does not cancel on disconnect); beyond this many, new
// streams are refused so one connection cannot pile them up.
constexpr int kMaxHandlers = 2 * kMaxConcurrentStreams;
constexpr auto kLinger = std::chrono::seconds(2);

const auto kForever = asio::steady_timer::time_point::max();

}  // namespace

PrefaceMatch MatchH2Preface(std::string_view bytes) {
  if (bytes.size() >= kPreface.size()) {
    return bytes.substr(0, kPreface.size()) == kPreface ? PrefaceMatch::kYes : PrefaceMatch::kNo;
  }
  return kPreface.substr(0, bytes.size()) == bytes ? PrefaceMatch::kPartial : PrefaceMatch::kNo;
}

// Callbacks never throw (nghttp2 is C) and never resume coroutines.
struct H2Session::Callbacks {
  static H2Session& Self(void* user_data) { return *static_cast<H2Session*>(user_data); }
  static H2Stream* Find(nghttp2_session* session, int32_t stream_id) {
    return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  }

  static int OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame,
                            void* user_data) noexcept {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    try {
      H2Session& self = Self(user_data);
      auto stream = std::make_shared<H2Stream>(frame->hd.stream_id, self.stream_.get_executor());
      stream->started = Clock::now();
      stream->last_progress = stream->started;
      stream->raw.version(20);
      if (nghttp2_session_set_stream_user_data(session, stream->id, stream.get()) != 0) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
      self.streams_[stream->id] = std::move(stream);
      return 0;
    } catch (const std::exception&) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  }

  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_size, const uint8_t* value, size_t value_size, uint8_t,
                      void* user_data) noexcept {
    H2Stream* stream = Find(session, frame->hd.stream_id);
    if (stream == nullptr || stream->request_done) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), name_size);
    const std::string_view v(reinterpret_cast<const char*>(value), value_size);
    const auto limit = static_cast<size_t>(Self(user_data).worker_.config().max_header_bytes);
    stream->header_bytes += name_size + value_size + 32;
    if (stream->header_bytes > limit) {
      if (stream->rejection.ok()) {
        stream->rejection = HeadersTooLarge(
            StrCat("request headers exceed server.max_header_bytes (", limit, " bytes)"));
      }
      return 0;
    }
    // Trailers (a second HEADERS) are not kept, as HTTP/1.1 chunked trailers are not.
    if (!stream->rejection.ok() || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    try {
      if (n == ":method") {
        stream->raw.method_string(v);
      } else if (n == ":path") {
        stream->raw.target(v);
      } else if (n == ":authority") {
        stream->authority = std::string(v);
        stream->raw.insert(n, v);
      } else if (n.empty() || n.front() != ':') {  // nghttp2 has validated the name
        stream->raw.insert(n, v);
      }
      return 0;
    } catch (const std::exception&) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets just this stream
    }
  }

  static int OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame,
                         void* user_data) noexcept {
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    H2Stream* stream = Find(session, frame->hd.stream_id);
    if (stream == nullptr) return 0;
    H2Session& self = Self(user_data);
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    stream->end_stream_received = stream->end_stream_received || end_stream;
    try {
      if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (stream->raw.find(http::field::host) == stream->raw.end() &&
            !stream->authority.empty()) {
          stream->raw.set(http::field::host, stream->authority);
        }
        const auto max_body = static_cast<uint64_t>(self.worker_.config().max_body_bytes);
        const auto length = stream->raw.find(http::field::content_length);
        if (stream->rejection.ok() && length != stream->raw.end()) {
          uint64_t declared = 0;
          for (char c : length->value()) {
            declared = c >= '0' && c <= '9' && declared <= max_body ? declared * 10 + (c - '0')
                                                                    : max_body + 1;
          }
          if (declared > max_body) stream->rejection = BodyTooLarge(max_body);
        }
        if (!stream->rejection.ok()) return Complete(self, *stream);
      }
      if (end_stream) return Complete(self, *stream);
      return 0;
    } catch (const std::exception&) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
  }

  static int OnDataChunkRecv(nghttp2_session* session, uint8_t, int32_t stream_id,
                             const uint8_t* data, size_t size, void* user_data) noexcept {
    H2Stream* stream = Find(session, stream_id);
    if (stream == nullptr || stream->request_done) return 0;
    H2Session& self = Self(user_data);
    const auto max_body = static_cast<size_t>(self.worker_.config().max_body_bytes);
    try {
      if (stream->raw.body().size() + size > max_body) {
        stream->rejection = BodyTooLarge(max_body);
        return Complete(self, *stream);
      }
      stream->raw.body().append(reinterpret_cast<const char*>(data), size);
      return 0;
    } catch (const std::exception&) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
  }

  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void*) noexcept {
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
      return 0;
    }
    // A response sent before the request ended (413, 431): tell the client to
    // stop sending (RFC 9113 section 8.1).
    H2Stream* stream = Find(session, frame->hd.stream_id);
    if (stream != nullptr && !stream->end_stream_received) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user_data) noexcept {
    H2Session& self = Self(user_data);
    auto it = self.streams_.find(stream_id);
    if (it == self.streams_.end()) return 0;
    std::shared_ptr<H2Stream> stream = std::move(it->second);
    self.streams_.erase(it);
    self.MarkClosed(*stream, error_code);
    if (self.streams_.empty()) self.idle_since_ = Clock::now();
    self.ArmDeadline();
    return 0;
  }

  static absl::Status BodyTooLarge(uint64_t max_body) {
    return PayloadTooLarge(
        StrCat("request body exceeds server.max_body_bytes (", max_body, " bytes)"));
  }

  // The request is complete (or rejected): its handler starts after mem_recv.
  static int Complete(H2Session& self, H2Stream& stream) {
    if (stream.request_done) return 0;
    stream.request_done = true;
    stream.bytes_in = stream.header_bytes + stream.raw.body().size();
    auto it = self.streams_.find(stream.id);
    if (it != self.streams_.end()) self.ready_.push_back(it->second);
    return 0;
  }
};

H2Session::H2Session(Worker& worker, boost::beast::tcp_stream& stream, std::string_view remote)
    : worker_(worker),
      stream_(stream),
      remote_(remote),
      write_wake_(stream.get_executor(), kForever),
      deadline_(stream.get_executor(), kForever),
      done_(stream.get_executor(), kForever),
      idle_since_(Clock::now()) {}

H2Session::~H2Session() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

bool H2Session::Init() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                            &Callbacks::OnDataChunkRecv);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &Callbacks::OnFrameSend);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Callbacks::OnStreamClose);
  const int rv = nghttp2_session_server_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) {
    session_ = nullptr;
    return false;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(std::clamp<int64_t>(worker_.config().max_header_bytes, 0,
                                                 INT32_MAX))},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) {
    return false;
  }
  // The connection's receive window, as each stream's, so uploads are not
  // throttled to the 64 KiB default.
  return nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindow) == 0;
}

void H2Session::Drain() {
  if (ended_ || goaway_ || session_ == nullptr) return;
  goaway_ = true;
  // Streams up to the last one seen are answered; the client retries later ones elsewhere.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  Kick();
}

asio::awaitable<void> H2Session::Run(boost::beast::flat_buffer& buffer) {
  auto self = shared_from_this();
  if (!Init()) {
    log::Error("HTTP/2: could not create the nghttp2 session", {{"remote", remote_}});
    co_return;
  }
  if (worker_.draining()) Drain();
  const auto executor = stream_.get_executor();
  writer_running_ = true;
  watchdog_running_ = true;
  asio::co_spawn(executor, [self] { return self->WriteLoop(); }, asio::detached);
  asio::co_spawn(executor, [self] { return self->Watchdog(); }, asio::detached);
  ArmDeadline();
  for (;;) {
    if (buffer.size() > 0) {
      if (!finishing_ && !Receive(static_cast<const char*>(buffer.data().data()), buffer.size())) {
        break;
      }
      buffer.consume(buffer.size());
    }
    auto [ec, n] = co_await stream_.socket().async_read_some(buffer.prepare(kReadChunk),
                                                             asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    buffer.commit(n);
  }
  End();
  while (handlers_ > 0 || writer_running_ || watchdog_running_) {
    done_.expires_at(kForever);
    co_await done_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

bool H2Session::Receive(const char* data, size_t size) {
  const ssize_t rv =
      nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), size);
  if (rv < 0) {
    // Fatal (bad preface, flooding, out of memory): nghttp2 cannot even say GOAWAY.
    worker_.metrics().rejected.With({"http2_protocol"}).Inc();
    log::Debug("HTTP/2 connection error",
               {{"remote", remote_}, {"error", nghttp2_strerror(static_cast<int>(rv))}});
    return false;
  }
  StartReadyStreams();
  ArmDeadline();
  Kick();
  return true;
}

void H2Session::StartReadyStreams() {
  std::vector<std::shared_ptr<H2Stream>> ready;
  ready.swap(ready_);
  auto self = shared_from_this();
  for (auto& stream : ready) {
    if (stream->closed || ended_) continue;
    if (handlers_ >= kMaxHandlers) {
      ResetStream(*stream, NGHTTP2_REFUSED_STREAM);
      continue;
    }
    ++handlers_;
    asio::co_spawn(
        stream_.get_executor(),
        [self, stream = std::move(stream)]() mutable { return self->RunStream(std::move(stream)); },
        asio::detached);
  }
}

asio::awaitable<void> H2Session::WriteLoop() {
  const auto timeout = std::chrono::milliseconds(worker_.config().write_timeout_ms);
  while (!ended_) {
    out_.clear();
    bool fatal = false;
    while (out_.size() < kWriteBatch) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        log::Warn("HTTP/2 send failed", {{"remote", remote_},
                                         {"error", nghttp2_strerror(static_cast<int>(n))}});
        fatal = true;
        break;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (fatal) {
      CloseSocket();
      break;
    }
    if (!out_.empty()) {
      // The read side never uses the tcp_stream's timer, so this times the write alone.
      stream_.expires_after(timeout);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out_),
                                                asio::as_tuple(asio::use_awaitable));
      if (ec) {
        CloseSocket();  // a timeout has closed it already
        break;
      }
      continue;
    }
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      Finish();
      break;
    }
    write_wake_.expires_at(kForever);
    co_await write_wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  writer_running_ = false;
  CoroutineDone();
}

asio::awaitable<void> H2Session::Watchdog() {
  while (!ended_) {
    co_await deadline_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ended_) break;
    const Clock::time_point deadline = Deadline();
    if (deadline > Clock::now()) {
      deadline_.expires_at(deadline);
      continue;
    }
    deadline_.expires_at(kForever);
    if (finishing_) {
      CloseSocket();  // the client did not close its side in time
    } else if (streams_.empty()) {
      // Idle: say GOAWAY; the writer finishes the session once it is sent.
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      Kick();
    } else {
      // A request still arriving after the read timeout: drop the client, as HTTP/1.1 does.
      worker_.metrics().rejected.With({"read_timeout"}).Inc();
      log::Debug("dropped a slow HTTP/2 client",
                 {{"remote", remote_}, {"read_timeout_ms", worker_.config().read_timeout_ms}});
      CloseSocket();
    }
  }
  watchdog_running_ = false;
  CoroutineDone();
}

H2Session::Clock::time_point H2Session::Deadline() const {
  if (finishing_) return linger_until_;
  const auto& cfg = worker_.config();
  Clock::time_point deadline = kForever;
  if (streams_.empty()) deadline = idle_since_ + std::chrono::milliseconds(cfg.idle_timeout_ms);
  for (const auto& [id, stream] : streams_) {
    if (!stream->request_done) {
      deadline = std::min(deadline, stream->started + std::chrono::milliseconds(cfg.read_timeout_ms));
    }
  }
  return deadline;
}

void H2Session::ArmDeadline() {
  // Later deadlines are found by the watchdog when it wakes; only earlier ones need it woken.
  const Clock::time_point deadline = Deadline();
  if (deadline < deadline_.expiry()) deadline_.expires_at(deadline);
}

void H2Session::Kick() { write_wake_.cancel(); }

void H2Session::Finish() {
  if (finishing_) return;
  finishing_ = true;
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  linger_until_ = Clock::now() + kLinger;
  ArmDeadline();
}

void H2Session::End() {
  ended_ = true;
  CloseSocket();
  auto streams = std::move(streams_);
  streams_.clear();
  ready_.clear();
  for (auto& [id, stream] : streams) MarkClosed(*stream, NGHTTP2_CANCEL);
  write_wake_.cancel();
  deadline_.cancel();
}

void H2Session::CloseSocket() {
  boost::system::error_code ignored;
  stream_.socket().close(ignored);
}

void H2Session::MarkClosed(H2Stream& stream, uint32_t error_code) {
  if (stream.closed) return;
  stream.closed = true;
  if (error_code != NGHTTP2_NO_ERROR) stream.out.clear();
  stream.closed_signal.cancel();
  stream.drained.cancel();
}

void H2Session::CoroutineDone() { done_.cancel(); }

}  // namespace basalt::net
