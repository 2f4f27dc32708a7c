#include "net/stream_writer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>

#include "core/strings.h"
#include "net/sse_parser.h"

namespace basalt::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;

asio::awaitable<absl::Status> ChunkedStreamWriter::Write(std::string_view data) {
  if (failed_) co_return absl::UnavailableError("the client connection is gone");
  if (data.empty()) co_return absl::OkStatus();
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await asio::async_write(
      stream_, http::make_chunk(asio::const_buffer(data.data(), data.size())),
      asio::as_tuple(asio::use_awaitable));
  if (ec) {
    failed_ = true;
    co_return absl::UnavailableError(StrCat("writing to the client failed: ", ec.message()));
  }
  bytes_written_ += data.size();
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> StreamWriter::Event(std::string_view event, std::string_view data,
                                                  std::string_view id) {
  co_return co_await Write(FormatSseEvent(event, data, id));
}

asio::awaitable<absl::Status> StreamWriter::Comment(std::string_view text) {
  co_return co_await Write(StrCat(": ", text, "\n\n"));
}

asio::awaitable<absl::Status> ChunkedStreamWriter::Finish() {
  if (failed_) co_return absl::UnavailableError("the client connection is gone");
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(),
                                            asio::as_tuple(asio::use_awaitable));
  if (ec) {
    failed_ = true;
    co_return absl::UnavailableError(StrCat("writing to the client failed: ", ec.message()));
  }
  co_return absl::OkStatus();
}

}  // namespace basalt::net
