#include "net/http_client_test_server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fstream>
#include <utility>

#include "gtest/gtest.h"

namespace basalt::net::client_testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

TestServer::TestServer(Handler handler) : handler_(std::move(handler)) { Start(); }

TestServer::TestServer(const std::string& cert_pem, const std::string& key_pem)
    : tls_(std::in_place, asio::ssl::context::tls_server) {
  tls_->use_certificate_chain(asio::buffer(cert_pem));
  tls_->use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
  Start();
}

void TestServer::Start() {
  io_ = std::make_unique<asio::io_context>(1);
  acceptor_ =
      std::make_unique<tcp::acceptor>(*io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(*io_, Accept(), asio::detached);
  thread_ = std::thread([this] { io_->run(); });
}

TestServer::~TestServer() {
  io_->stop();
  thread_.join();
  acceptor_.reset();
  io_.reset();  // destroys the suspended sessions
}

std::string TestServer::Url(std::string_view path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         std::string(path);
}

bool TestServer::WaitFor(const std::function<int()>& counter, int value,
                         std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (counter() < value) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

asio::awaitable<void> TestServer::Accept() {
  while (true) {
    auto [ec, socket] = co_await acceptor_->async_accept(kAsTuple);
    if (ec) co_return;
    ++accepted_;
    const int open = ++open_;
    for (int seen = max_open_.load();
         open > seen && !max_open_.compare_exchange_weak(seen, open);) {
    }
    if (tls_) {
      asio::co_spawn(acceptor_->get_executor(), ServeTls(std::move(socket)), asio::detached);
    } else {
      asio::co_spawn(acceptor_->get_executor(), ServePlain(std::move(socket)), asio::detached);
    }
  }
}

asio::awaitable<void> TestServer::ServePlain(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (int index = 0;; ++index) {
    ServerRequest request;
    auto [ec, n] = co_await http::async_read(stream, buffer, request, kAsTuple);
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::connection_reset) ++client_closed_;
      break;
    }
    ++requests_;
    bool keep_alive = false;
    try {
      keep_alive = co_await handler_(request, stream, index);
    } catch (const std::exception&) {
      keep_alive = false;
    }
    if (!keep_alive || !stream.socket().is_open()) break;
  }
  --open_;
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

asio::awaitable<void> TestServer::ServeTls(tcp::socket socket) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_);
  auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kAsTuple);
  beast::flat_buffer buffer;
  while (!handshake_ec) {
    ServerRequest request;
    auto [ec, n] = co_await http::async_read(stream, buffer, request, kAsTuple);
    if (ec) break;
    ++requests_;
    http::response<http::string_body> response{http::status::ok, 11};
    response.body() = "secure";
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    auto [write_ec, written] = co_await http::async_write(stream, response, kAsTuple);
    if (write_ec || !request.keep_alive()) break;
  }
  --open_;
  stream.next_layer().close();
}

asio::awaitable<void> Sleep(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(kAsTuple);
}

asio::awaitable<void> Respond(beast::tcp_stream& stream, int status, std::string body,
                              std::string extra) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                     std::string(http::obsolete_reason(http::int_to_status(status))) +
                     "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n";
  co_await WriteRaw(stream, head + body);
}

asio::awaitable<void> WriteRaw(beast::tcp_stream& stream, std::string bytes) {
  co_await asio::async_write(stream, asio::buffer(bytes), kAsTuple);
}

asio::awaitable<bool> AwaitClientClose(beast::tcp_stream& stream, std::chrono::milliseconds limit) {
  stream.expires_after(limit);
  char scratch[512];
  while (true) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kAsTuple);
    if (ec) co_return ec != beast::error::timeout;
  }
}

void Reset(beast::tcp_stream& stream) {
  boost::system::error_code ignored;
  stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
  stream.close();
}

TestCert MakeSelfSignedCert(const std::string& common_name, const std::string& subject_alt_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  static int serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       {std::pair<int, std::string>{NID_subject_alt_name, subject_alt_name},
        {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());

  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(len));
    BIO_free(bio);
    return out;
  };
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  TestCert out{to_string(cert_bio), to_string(key_bio)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string WriteTempFile(std::string_view name, const std::string& contents) {
  const std::string path =
      ::testing::TempDir() + "/" + std::to_string(::getpid()) + "_" + std::string(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  return path;
}

std::unique_ptr<HttpClient> ClientFixture::MakeClient(const HttpClientConfig& config) {
  absl::StatusOr<std::unique_ptr<HttpClient>> client =
      HttpClient::Create(io_.get_executor(), config);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

absl::StatusOr<ClientResponse> ClientFixture::Get(HttpClient& client, std::string url) {
  ClientRequest request;
  request.url = std::move(url);
  return Run(client.Send(std::move(request)));
}

}  // namespace basalt::net::client_testing
