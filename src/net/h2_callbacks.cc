// H2Session's nghttp2 server session: its settings and callbacks, which turn
// frames into H2Streams (requests) and hand complete ones to the session.
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"
#include "core/strings.h"
#include "net/h2_session.h"
#include "net/h2_stream.h"

namespace basalt::net {

namespace http = boost::beast::http;

namespace {
constexpr int32_t kWindow = 1 << 20;
// The request bytes the open streams of one connection may buffer, in server.max_body_bytes.
constexpr size_t kBodyBudgetInBodies = 4;
}  // namespace

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
    stream->header_list_size += name_size + value_size + 32;
    stream->bytes_in += name_size + value_size;
    if (stream->header_list_size > limit) {
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
    if (stream == nullptr) return 0;
    stream->bytes_in += size;
    if (stream->request_done) return 0;
    H2Session& self = Self(user_data);
    const auto max_body = static_cast<size_t>(self.worker_.config().max_body_bytes);
    try {
      if (stream->raw.body().size() + size > max_body) {
        stream->rejection = BodyTooLarge(max_body);
        return Complete(self, *stream);
      }
      // Bodies of the streams open at once share a budget, so one connection
      // cannot hold kMaxConcurrentStreams whole bodies in memory.
      const size_t budget = kBodyBudgetInBodies * max_body;
      if (self.open_body_bytes_ + size > budget) {
        stream->rejection = absl::UnavailableError(
            StrCat("request bodies in progress on this HTTP/2 connection exceed ", budget,
                   " bytes; retry"));
        return Complete(self, *stream);
      }
      stream->raw.body().append(reinterpret_cast<const char*>(data), size);
      stream->body_counted += size;
      self.open_body_bytes_ += size;
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
    self.open_body_bytes_ -= stream->body_counted;
    try {
      self.MarkClosed(*stream, error_code);
      if (self.streams_.empty()) self.idle_since_ = Clock::now();
      self.ArmDeadline();
      return 0;
    } catch (const std::exception&) {  // a timer that cannot be cancelled: give up the session
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  }

  static absl::Status BodyTooLarge(uint64_t max_body) {
    return PayloadTooLarge(
        StrCat("request body exceeds server.max_body_bytes (", max_body, " bytes)"));
  }

  // The request is complete (or rejected): its handler starts after mem_recv.
  static int Complete(H2Session& self, H2Stream& stream) {
    if (stream.request_done) return 0;
    stream.request_done = true;
    auto it = self.streams_.find(stream.id);
    if (it != self.streams_.end()) self.ready_.push_back(it->second);
    return 0;
  }
};

bool H2Session::Init() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Callbacks::OnDataChunkRecv);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &Callbacks::OnFrameSend);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Callbacks::OnStreamClose);
  const int rv = nghttp2_session_server_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) {
    session_ = nullptr;
    return false;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kH2MaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(std::clamp<int64_t>(worker_.config().max_header_bytes, 0, INT32_MAX))},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) {
    return false;
  }
  // The connection's receive window, as each stream's, so uploads are not
  // throttled to the 64 KiB default.
  return nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindow) == 0;
}

}  // namespace basalt::net
