// HTTP/2 over cleartext TCP with prior knowledge (h2c, RFC 9113 section 3.3),
// on the same port as HTTP/1.1: a Connection whose first bytes are the HTTP/2
// client preface hands its socket to an H2Session, built on nghttp2's server
// session. (No Upgrade from HTTP/1.1, and no TLS/ALPN: basalt serves no TLS.)
//
// Every request stream goes through the same routing, authentication, handlers,
// error shapes, metrics and access log as HTTP/1.1 (connection.h). Each stream's
// handler runs as its own coroutine, so the streams of a connection are served
// concurrently. Streaming responses (HttpResponse::stream) become DATA frames
// with back-pressure: a StreamWriter::Write completes once nghttp2 has taken its
// bytes, which it does only as fast as the socket and the client's flow-control
// window allow, so each stream holds at most one Write's bytes.
//
// Limits: server.max_header_bytes (431) and server.max_body_bytes (413, also
// answered early from Content-Length) per stream; at most 100 concurrent
// streams, whose bodies together may not exceed 4 x max_body_bytes (503); the
// idle timeout when no stream is open; the read timeout for a
// request still arriving (the connection is dropped, as for HTTP/1.1); the
// write timeout for a stream whose client takes none of its bytes (the stream
// is reset). Worker::Drain sends GOAWAY; open streams finish, then it closes.
//
// Threading: everything runs on the connection's worker thread, so nothing
// needs a lock. nghttp2 callbacks never throw and never resume a coroutine: they
// record state and wake waiters, and handlers start after nghttp2 returns.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "net/connection.h"

struct nghttp2_session;

namespace basalt::net {

enum class PrefaceMatch {
  kNo,       // not HTTP/2: parse as HTTP/1.1
  kPartial,  // a strict prefix of the preface: read more to decide
  kYes,      // starts with the whole 24-byte preface
};
PrefaceMatch MatchH2Preface(std::string_view bytes);

// SETTINGS_MAX_CONCURRENT_STREAMS, per connection.
inline constexpr uint32_t kH2MaxConcurrentStreams = 100;

struct H2Stream;
class H2StreamWriter;

class H2Session : public std::enable_shared_from_this<H2Session> {
 public:
  // `stream` is the connection's; it must outlive Run.
  H2Session(Worker& worker, boost::beast::tcp_stream& stream, std::string_view remote);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Serves the connection until it ends. `buffer` holds what was read so far,
  // starting with the preface. Returns once every stream's handler has finished;
  // the caller closes the socket.
  boost::asio::awaitable<void> Run(boost::beast::flat_buffer& buffer);
  // Graceful shutdown: GOAWAY now, the open streams finish, then the session ends.
  void Drain();

 private:
  struct Callbacks;  // the nghttp2 callbacks (h2_callbacks.cc)
  friend class H2StreamWriter;
  using Clock = std::chrono::steady_clock;

  // --- Connection level (h2_session.cc; Init in h2_callbacks.cc) ---
  // Creates the nghttp2 session and queues our SETTINGS; false when nghttp2 fails.
  bool Init();
  // Feeds received bytes to nghttp2, then starts the requests they completed.
  bool Receive(const char* data, size_t size);
  void StartReadyStreams();
  // Sends what nghttp2 has queued; ends the session when both sides are done.
  boost::asio::awaitable<void> WriteLoop();
  // Enforces the idle, read and linger deadlines.
  boost::asio::awaitable<void> Watchdog();
  Clock::time_point Deadline() const;
  void ArmDeadline();
  // Wakes the writer: nghttp2 may have something to send.
  void Kick();
  // Both sides are done: stop sending, and drop the connection once the client
  // closes its side or the linger time passes.
  void Finish();
  // The connection is over: closes the socket and closes every stream.
  void End();
  void CloseSocket();
  void MarkClosed(H2Stream& stream, uint32_t error_code);
  void CoroutineDone();

  // --- Stream level (h2_stream.cc) ---
  // Routes and answers one complete request (or a rejected one).
  boost::asio::awaitable<void> RunStream(std::shared_ptr<H2Stream> stream);
  // Sends a streaming response: HEADERS, then the producer's Writes as DATA.
  boost::asio::awaitable<void> SendStream(H2Stream& stream, HttpResponse& response,
                                          std::string_view request_id);
  // Queues the response HEADERS and, unless `streaming`, the whole body.
  bool SubmitResponse(H2Stream& stream, HttpResponse& response, std::string_view request_id,
                      bool streaming);
  // Hands bytes of a streaming response to nghttp2 and waits until it took them.
  boost::asio::awaitable<absl::Status> QueueData(H2Stream& stream, std::string_view data);
  // Ends a streaming response's body (END_STREAM once the queued bytes are sent).
  absl::Status EndData(H2Stream& stream);
  // Completes when the stream closes (the client reset it, or the session ended).
  boost::asio::awaitable<void> WaitClosed(H2Stream& stream);
  // Waits until the whole response has been sent, resetting a stream whose
  // client takes none of it for the write timeout.
  boost::asio::awaitable<void> WaitSent(H2Stream& stream);
  // A streaming response has more to send (or its end): wake nghttp2's data source.
  void Resume(H2Stream& stream);
  void ResetStream(H2Stream& stream, uint32_t error_code);
  void RecordStream(const H2Stream& stream, std::string_view route, int status,
                    std::string_view request_id);

  Worker& worker_;
  boost::beast::tcp_stream& stream_;
  const std::string remote_;
  nghttp2_session* session_ = nullptr;  // owned; deleted in the destructor
  // Streams nghttp2 knows as open, by id; a stream's handler keeps it alive after.
  absl::flat_hash_map<int32_t, std::shared_ptr<H2Stream>> streams_;
  // Requests completed during the current nghttp2_session_mem_recv call.
  std::vector<std::shared_ptr<H2Stream>> ready_;
  boost::asio::steady_timer write_wake_;  // the writer waits on it; cancelled to wake it
  boost::asio::steady_timer deadline_;    // the watchdog's
  boost::asio::steady_timer done_;        // Run waits on it for the coroutines to end
  std::string out_;                       // the bytes being written
  Clock::time_point idle_since_;          // when the last stream closed
  Clock::time_point linger_until_;
  size_t open_body_bytes_ = 0;  // request body bytes buffered by the streams in streams_
  int handlers_ = 0;            // running RunStream coroutines
  bool writer_running_ = false;
  bool watchdog_running_ = false;
  bool goaway_ = false;     // Drain sent GOAWAY
  bool finishing_ = false;  // Finish was called
  bool ended_ = false;      // End was called: nghttp2 must not be called again
};

}  // namespace basalt::net
