// The connection side of H2Session: the reader, the writer, the deadlines and
// the end of the session. nghttp2's callbacks are in h2_callbacks.cc, the
// stream side in h2_stream.cc.
#include "net/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "core/log.h"
#include "net/h2_stream.h"

namespace basalt::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kWriteBatch = 64 * 1024;
// Handlers may outlive their streams (a client that resets a stream does not
// stop a handler that does not cancel on disconnect); beyond this many, new
// streams are refused so one connection cannot pile them up.
constexpr int kMaxHandlers = 2 * kH2MaxConcurrentStreams;
constexpr auto kLinger = std::chrono::seconds(2);

const auto kForever = asio::steady_timer::time_point::max();

}  // namespace

PrefaceMatch MatchH2Preface(std::string_view bytes) {
  if (bytes.size() >= kPreface.size()) {
    return bytes.substr(0, kPreface.size()) == kPreface ? PrefaceMatch::kYes : PrefaceMatch::kNo;
  }
  return kPreface.substr(0, bytes.size()) == bytes ? PrefaceMatch::kPartial : PrefaceMatch::kNo;
}

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
  asio::co_spawn(
      executor, [self] { return self->WriteLoop(); }, asio::detached);
  asio::co_spawn(
      executor, [self] { return self->Watchdog(); }, asio::detached);
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
        log::Warn("HTTP/2 send failed",
                  {{"remote", remote_}, {"error", nghttp2_strerror(static_cast<int>(n))}});
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
      deadline =
          std::min(deadline, stream->started + std::chrono::milliseconds(cfg.read_timeout_ms));
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
