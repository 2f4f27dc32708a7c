// Test-only: a minimal blocking HTTP/2 client on nghttp2's client session, for
// driving the server's h2c support over a real loopback socket.
#pragma once

#include <nghttp2/nghttp2.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace basalt::net::h2test {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  int data_chunks = 0;
  bool closed = false;
  uint32_t error_code = 0;
};

// A minimal blocking HTTP/2 client on nghttp2's client session.
class H2Client {
 public:
  explicit H2Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &OnFrame);
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Client() { nghttp2_session_del(session_); }

  int32_t Submit(const std::string& method, const std::string& path, const std::string& body = "",
                 std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> h = {{":method", method},
                                                          {":scheme", "http"},
                                                          {":authority", "example.test:8080"},
                                                          {":path", path}};
    h.insert(h.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [k, v] : h) {
      nva.push_back({reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()),
                     k.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    auto& source = bodies_.emplace_back(std::make_unique<Body>(Body{body, 0}));
    nghttp2_data_provider provider{};
    provider.source.ptr = source.get();
    provider.read_callback = &ReadBody;
    const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                              body.empty() ? nullptr : &provider, nullptr);
    replies_[id];
    return id;
  }

  // Sends only the HEADERS of a POST, leaving the request unfinished.
  int32_t OpenUnfinished(std::string path) {
    std::string method = "POST", scheme = "http", authority = "x";
    std::string names[] = {":method", ":scheme", ":authority", ":path"};
    std::string* values[] = {&method, &scheme, &authority, &path};
    std::vector<nghttp2_nv> nva;
    for (int i = 0; i < 4; ++i) {
      nva.push_back({reinterpret_cast<uint8_t*>(names[i].data()),
                     reinterpret_cast<uint8_t*>(values[i]->data()), names[i].size(),
                     values[i]->size(), NGHTTP2_NV_FLAG_NONE});
    }
    const int32_t id = nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, -1, nullptr, nva.data(),
                                              nva.size(), nullptr);
    replies_[id];
    return id;
  }

  void Reset(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    Flush();
  }

  // Exchanges frames until `id` has received some DATA; false on timeout.
  bool RunUntilData(int32_t id, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until && replies_[id].data_chunks == 0) {
      if (!Flush() || !ReadSome(50)) return false;
    }
    return replies_[id].data_chunks > 0;
  }

  // Exchanges frames until every stream submitted so far has closed; false on timeout.
  bool Run(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (!Flush()) return false;
      bool all_closed = true;
      for (auto& [id, r] : replies_) all_closed = all_closed && r.closed;
      if (all_closed) return true;
      if (!ReadSome(50)) return false;
    }
    return false;
  }

  // Reads until the server closes the connection; whether a GOAWAY came first.
  bool ReadUntilClosed(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until && Flush() && ReadSome(50)) {
    }
    return goaway_;
  }

  Reply& reply(int32_t id) { return replies_[id]; }
  std::vector<int32_t>& close_order() { return close_order_; }

 private:
  struct Body {
    std::string data;
    size_t offset;
  };

  bool Flush() {
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) return n == 0;
      boost::system::error_code ec;
      boost::asio::write(socket_, boost::asio::buffer(data, static_cast<size_t>(n)), ec);
      if (ec) return false;
    }
  }
  bool ReadSome(int timeout_ms) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char buf[16384];
    boost::system::error_code ec;
    const size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
    if (ec) return false;
    return nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), n) >= 0;
  }
  static H2Client& Self(void* p) { return *static_cast<H2Client*>(p); }
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* b = static_cast<Body*>(source->ptr);
    const size_t n = std::min(length, b->data.size() - b->offset);
    std::memcpy(buf, b->data.data() + b->offset, n);
    b->offset += n;
    if (b->offset == b->data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* p) {
    Reply& r = Self(p).replies_[frame->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") r.status = std::stoi(v);
    r.headers[n] = v;
    return 0;
  }
  static int OnData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* p) {
    Reply& r = Self(p).replies_[id];
    r.body.append(reinterpret_cast<const char*>(data), len);
    ++r.data_chunks;
    return 0;
  }
  static int OnClose(nghttp2_session*, int32_t id, uint32_t error_code, void* p) {
    Reply& r = Self(p).replies_[id];
    r.closed = true;
    r.error_code = error_code;
    Self(p).close_order_.push_back(id);
    return 0;
  }
  static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    if (frame->hd.type == NGHTTP2_GOAWAY) Self(p).goaway_ = true;
    return 0;
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Reply> replies_;
  std::vector<std::unique_ptr<Body>> bodies_;
  std::vector<int32_t> close_order_;
  bool goaway_ = false;
};

}  // namespace basalt::net::h2test
