// HttpClient over TLS against a loopback server with a certificate made at runtime.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_client.h"
#include "net/http_client_test_server.h"

namespace basalt::net {
namespace {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using client_testing::TestServer;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

class HttpClientTlsTest : public client_testing::ClientFixture {
 protected:
  static void SetUpTestSuite() {
    // Valid for 127.0.0.1 and localhost; another one for a name we never dial.
    cert_ = new client_testing::TestCert(
        client_testing::MakeSelfSignedCert("basalt-test", "IP:127.0.0.1,DNS:localhost"));
    ca_file_ =
        new std::string(client_testing::WriteTempFile("basalt_test_ca.pem", cert_->cert_pem));
    other_ = new client_testing::TestCert(
        client_testing::MakeSelfSignedCert("basalt-other", "DNS:other.example"));
    other_ca_file_ =
        new std::string(client_testing::WriteTempFile("basalt_other_ca.pem", other_->cert_pem));
  }
  static void TearDownTestSuite() {
    delete cert_;
    delete ca_file_;
    delete other_;
    delete other_ca_file_;
  }

  static client_testing::TestCert* cert_;
  static std::string* ca_file_;
  static client_testing::TestCert* other_;
  static std::string* other_ca_file_;
};

client_testing::TestCert* HttpClientTlsTest::cert_ = nullptr;
std::string* HttpClientTlsTest::ca_file_ = nullptr;
client_testing::TestCert* HttpClientTlsTest::other_ = nullptr;
std::string* HttpClientTlsTest::other_ca_file_ = nullptr;

TEST_F(HttpClientTlsTest, VerificationFailsByDefault) {
  TestServer server(cert_->cert_pem, cert_->key_pem);
  auto client = MakeClient();  // system CA bundle: does not know this certificate
  absl::StatusOr<ClientResponse> r = Get(*client, server.Url("/"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("certificate verification failed"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("self-signed"));
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpClientTlsTest, SucceedsWithCaFileAndReusesConnection) {
  TestServer server(cert_->cert_pem, cert_->key_pem);
  HttpClientConfig config;
  config.ca_file = *ca_file_;
  auto client = MakeClient(config);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ClientResponse> r = Get(*client, server.Url("/secure"));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "secure");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTlsTest, SucceedsByHostNameWithSni) {
  TestServer server(cert_->cert_pem, cert_->key_pem);
  HttpClientConfig config;
  config.ca_file = *ca_file_;
  auto client = MakeClient(config);
  absl::StatusOr<ClientResponse> r =
      Get(*client, "https://localhost:" + std::to_string(server.port()) + "/");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "secure");
}

TEST_F(HttpClientTlsTest, HostNameMismatchFails) {
  // Trusted, but issued for other.example, not 127.0.0.1.
  TestServer server(other_->cert_pem, other_->key_pem);
  HttpClientConfig config;
  config.ca_file = *other_ca_file_;
  auto client = MakeClient(config);
  absl::StatusOr<ClientResponse> r = Get(*client, server.Url("/"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("certificate verification failed"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("does not match host 127.0.0.1"));
}

TEST_F(HttpClientTlsTest, VerifyTlsFalseAcceptsAnyCertificate) {
  TestServer server(other_->cert_pem, other_->key_pem);
  HttpClientConfig config;
  config.verify_tls = false;
  auto client = MakeClient(config);
  absl::StatusOr<ClientResponse> r = Get(*client, server.Url("/"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "secure");
}

TEST_F(HttpClientTlsTest, SilentServerHitsConnectTimeout) {
  // The kernel completes the TCP handshake for a listening socket nobody accepts
  // on, so the TLS handshake is what never finishes.
  asio::ip::tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  HttpClientConfig config;
  config.connect_timeout_ms = 100;
  auto client = MakeClient(config);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ClientResponse> r =
      Get(*client, "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST_F(HttpClientTlsTest, CancelDuringTlsHandshake) {
  asio::ip::tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  auto client = MakeClient();  // connect_timeout_ms: 5 s
  ClientRequest request;
  request.url = "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/";
  const auto start = std::chrono::steady_clock::now();
  const size_t winner = Run([&]() -> asio::awaitable<size_t> {
    asio::steady_timer timer(co_await asio::this_coro::executor, milliseconds(50));
    auto r = co_await (client->Send(request) || timer.async_wait(asio::use_awaitable));
    co_return r.index();
  }());
  EXPECT_EQ(winner, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

}  // namespace
}  // namespace basalt::net
