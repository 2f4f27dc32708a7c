// StreamWriter: writes a response body piece by piece with chunked transfer
// encoding, for long or open-ended answers (Server-Sent Events, token streams).
//
// Back-pressure: every Write completes only once the bytes are in the kernel's
// socket buffer, so a slow reader slows the producer instead of growing memory;
// a reader that stops reading for the write timeout is dropped and Write
// answers kUnavailable. After a failed Write the producer should stop.
//
// Used only from the connection's own coroutine (not thread-safe).
#pragma once

#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "absl/status/status.h"

namespace basalt::net {

class StreamWriter {
 public:
  StreamWriter(boost::beast::tcp_stream& stream, std::chrono::milliseconds write_timeout)
      : stream_(stream), write_timeout_(write_timeout) {}

  // Sends bytes as one chunk. Empty data is a no-op (an empty chunk would end the body).
  boost::asio::awaitable<absl::Status> Write(std::string_view data);
  // Sends one Server-Sent Event (event name optional; data may span lines).
  boost::asio::awaitable<absl::Status> Event(std::string_view event, std::string_view data,
                                             std::string_view id = {});
  // Sends an SSE comment line, e.g. a keep-alive heartbeat.
  boost::asio::awaitable<absl::Status> Comment(std::string_view text);
  // Ends the body (the final zero-length chunk). Called by the server.
  boost::asio::awaitable<absl::Status> Finish();

  size_t bytes_written() const { return bytes_written_; }
  bool failed() const { return failed_; }

 private:
  boost::beast::tcp_stream& stream_;
  std::chrono::milliseconds write_timeout_;
  size_t bytes_written_ = 0;
  bool failed_ = false;
};

}  // namespace basalt::net
