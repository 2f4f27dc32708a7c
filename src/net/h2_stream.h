// Internal to H2Session: one HTTP/2 request stream, and the StreamWriter that
// turns a streaming response into DATA frames.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "net/h2_session.h"
#include "net/http_types.h"
#include "net/stream_writer.h"

namespace basalt::net {

struct H2Stream {
  H2Stream(int32_t stream_id, const boost::asio::any_io_executor& executor)
      : id(stream_id),
        closed_signal(executor, boost::asio::steady_timer::time_point::max()),
        drained(executor, boost::asio::steady_timer::time_point::max()) {}

  const int32_t id;
  std::chrono::steady_clock::time_point started;
  // The request, as HTTP/1.1 handlers see it: :method, :path and the fields
  // (Host from :authority, which is also kept as an ":authority" field because
  // HTTP/2 SigV4 signers sign it), then the body.
  RawRequest raw;
  std::string authority;
  size_t header_list_size = 0;  // as SETTINGS_MAX_HEADER_LIST_SIZE counts: name + value + 32
  size_t bytes_in = 0;          // header names and values, and body bytes received
  size_t body_counted = 0;      // body bytes counted in H2Session::open_body_bytes_
  // Set when the request breaks a limit: answered with this error, unrouted.
  absl::Status rejection;
  bool end_stream_received = false;  // the client has sent its whole request
  bool request_done = false;         // complete or rejected: reading is over
  bool closed = false;               // nghttp2 closed it, or the session ended

  // The response body nghttp2 reads from: the whole body, or the bytes of the
  // current streaming Write. `out_end`: nothing comes after them.
  std::string out;
  size_t out_offset = 0;
  bool out_end = false;
  bool deferred = false;  // the data source answered NGHTTP2_ERR_DEFERRED
  size_t bytes_out = 0;   // header and body bytes handed to nghttp2
  std::chrono::steady_clock::time_point last_progress;  // when nghttp2 last took bytes

  // Cancelled (never expires) when the stream closes.
  boost::asio::steady_timer closed_signal;
  // Cancelled when nghttp2 has taken all of `out`, or the stream closes; its
  // waiter sets the expiry to its own deadline.
  boost::asio::steady_timer drained;
};

// HttpResponse::stream's writer over HTTP/2.
class H2StreamWriter final : public StreamWriter {
 public:
  H2StreamWriter(H2Session& session, H2Stream& stream) : session_(session), stream_(stream) {}

  boost::asio::awaitable<absl::Status> Write(std::string_view data) override;
  // Ends the body: END_STREAM follows the bytes already queued.
  boost::asio::awaitable<absl::Status> Finish() override;

 private:
  H2Session& session_;
  H2Stream& stream_;
};

}  // namespace basalt::net
