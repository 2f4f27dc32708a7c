// StreamWriter: writes a response body piece by piece, for long or open-ended
// answers (Server-Sent Events, token streams). Over HTTP/1.1 the pieces go out
// as chunks (ChunkedStreamWriter, below); over HTTP/2 as DATA frames
// (h2_session.h). Handlers see only this interface.
//
// Back-pressure: every Write completes only once the transport has taken the
// bytes (HTTP/1.1: they are in the kernel's socket buffer), so a slow reader
// slows the producer instead of growing memory; a reader that stops reading for
// the write timeout is dropped and Write answers kUnavailable. After a failed
// Write the producer should stop.
//
// Used only from the connection's own coroutine (not thread-safe).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <string_view>

#include "absl/status/status.h"

namespace basalt::net {

class StreamWriter {
 public:
  virtual ~StreamWriter() = default;

  // Sends bytes as one piece. Empty data is a no-op (an empty chunk would end the body).
  virtual boost::asio::awaitable<absl::Status> Write(std::string_view data) = 0;
  // Sends one Server-Sent Event (event name optional; data may span lines).
  boost::asio::awaitable<absl::Status> Event(std::string_view event, std::string_view data,
                                             std::string_view id = {});
  // Sends an SSE comment line, e.g. a keep-alive heartbeat.
  boost::asio::awaitable<absl::Status> Comment(std::string_view text);
  // Ends the body. Called by the server.
  virtual boost::asio::awaitable<absl::Status> Finish() = 0;

  size_t bytes_written() const { return bytes_written_; }
  bool failed() const { return failed_; }

 protected:
  // Kept by the implementations: body bytes the transport has taken, and
  // whether the client is gone.
  size_t bytes_written_ = 0;
  bool failed_ = false;
};

// HTTP/1.1: chunked transfer encoding straight onto the connection's stream.
class ChunkedStreamWriter final : public StreamWriter {
 public:
  ChunkedStreamWriter(boost::beast::tcp_stream& stream, std::chrono::milliseconds write_timeout)
      : stream_(stream), write_timeout_(write_timeout) {}

  boost::asio::awaitable<absl::Status> Write(std::string_view data) override;
  // The final zero-length chunk.
  boost::asio::awaitable<absl::Status> Finish() override;

 private:
  boost::beast::tcp_stream& stream_;
  std::chrono::milliseconds write_timeout_;
};

}  // namespace basalt::net
