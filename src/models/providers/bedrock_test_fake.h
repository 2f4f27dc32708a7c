// Test support for the Bedrock provider's tests: a fake Bedrock Runtime on
// loopback that speaks the real wire format (JSON, AWS event-stream frames, AWS
// error shapes) and checks every request's SigV4 signature with basalt's own
// verifier, and a fixture that runs provider calls on a ClientSet.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>

#include "absl/strings/escaping.h"
#include "core/strings.h"
#include "models/providers/bedrock_provider.h"
#include "models/router/retry_after.h"
#include "net/eventstream.h"
#include "net/http_client_test_server.h"
#include "net/sigv4_verifier.h"

namespace basalt::models::bedrock_testing {

namespace asio = boost::asio;
using net::client_testing::ServerRequest;
using net::client_testing::TestServer;

inline constexpr char kModel[] = "anthropic.claude-3-haiku-20240307-v1:0";
inline constexpr char kModelPath[] = "/model/anthropic.claude-3-haiku-20240307-v1%3A0";
inline constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// The keys the fake accepts: one with a session token, one without.
inline std::optional<sigv4::AwsCredentials> LookupKey(std::string_view id) {
  if (id == "AKIDCONFIG") return sigv4::AwsCredentials{"AKIDCONFIG", kSecret, "session-config"};
  if (id == "AKIDENV") return sigv4::AwsCredentials{"AKIDENV", "env-secret", ""};
  return std::nullopt;
}

inline GetEnv FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline std::string Chunk(std::string_view bytes) {
  char size[16];
  std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
  return StrCat(size, bytes, "\r\n");
}

inline std::string JsonResponse(int status, std::string_view body, std::string_view extra = "") {
  return StrCat("HTTP/1.1 ", status, " X\r\nContent-Type: application/json\r\n", extra,
                "Content-Length: ", body.size(), "\r\n\r\n", body);
}

inline constexpr char kEventStreamHead[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

// One request as the fake saw it, and whether its signature verified.
struct Seen {
  std::string target;
  std::string body;
  std::string accept;
  absl::StatusOr<sigv4::VerifiedIdentity> identity;
};

// A fake Bedrock Runtime: verifies each request's signature, records it, then
// lets the test's `reply` answer.
class FakeBedrock {
 public:
  using Reply =
      std::function<asio::awaitable<void>(const ServerRequest&, boost::beast::tcp_stream&)>;

  explicit FakeBedrock(Reply reply)
      : reply_(std::move(reply)),
        verifier_(LookupKey, RealClock::Instance()),
        server_([this](const ServerRequest& request, boost::beast::tcp_stream& stream,
                       int) -> asio::awaitable<bool> {
          Record(request);
          co_await reply_(request, stream);
          co_return true;
        }) {}

  std::string Url() const { return server_.Url("/"); }
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  void Record(const ServerRequest& request) {
    sigv4::SignableRequest signable;
    signable.method = std::string(request.method_string());
    const std::string target(request.target());
    const size_t question = target.find('?');
    signable.path = target.substr(0, question);
    if (question != std::string::npos) signable.query = target.substr(question + 1);
    for (const auto& field : request) {
      signable.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    signable.body = request.body();
    Seen seen{target, request.body(), std::string(request["accept"]), verifier_.Verify(signable)};
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.push_back(std::move(seen));
  }

  Reply reply_;
  sigv4::SigV4Verifier verifier_;
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
  TestServer server_;  // last: stops before the members its handler uses go away
};

inline FakeBedrock::Reply Answer(std::string raw) {
  return [raw](const ServerRequest&, boost::beast::tcp_stream& stream) {
    return net::client_testing::WriteRaw(stream, raw);
  };
}

// Writes the event-stream frames split at awkward places: each frame's first 5
// bytes in one chunk, the rest with the next frame's first 5 bytes, and so on.
inline FakeBedrock::Reply Frames(std::vector<std::string> frames) {
  return [frames](const ServerRequest&, boost::beast::tcp_stream& stream) -> asio::awaitable<void> {
    std::string all;
    for (const auto& frame : frames) all += frame;
    co_await net::client_testing::WriteRaw(stream, kEventStreamHead);
    for (size_t at = 0; at < all.size();) {
      const size_t n = std::min<size_t>(at == 0 ? 5 : 23, all.size() - at);
      co_await net::client_testing::WriteRaw(stream, Chunk(std::string_view(all).substr(at, n)));
      co_await net::client_testing::Sleep(std::chrono::milliseconds(1));
      at += n;
    }
    co_await net::client_testing::WriteRaw(stream, "0\r\n\r\n");
  };
}

class BedrockProviderTest : public ::testing::Test {
 protected:
  void Run(const std::function<asio::awaitable<void>(const net::ClientSet&)>& body) {
    asio::io_context ioc;
    auto clients = net::ClientSet::Create({&ioc}, HttpClientConfig{});
    ASSERT_TRUE(clients.ok());
    const net::ClientSet& set = **clients;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { co_await body(set); }, asio::detached);
    ioc.run();
  }

  static ProviderConfig Config(const FakeBedrock& fake) {
    ProviderConfig c;
    c.name = "bedrock";
    c.type = "bedrock";
    c.region = "us-west-2";
    c.endpoint = fake.Url();
    c.access_key_id = "AKIDCONFIG";
    c.secret_access_key = kSecret;
    c.session_token = "session-config";
    c.timeout_ms = 5000;
    return c;
  }

  static ChatRequest Hello() {
    ChatRequest r;
    r.model = kModel;
    r.system = "Be brief.";
    r.messages.push_back(Message{Role::kUser, {ContentBlock::Text("hello")}});
    r.max_tokens = 16;
    return r;
  }

  // Reads the whole stream; the error that ended it, if any.
  static asio::awaitable<absl::Status> Drain(ChatStream& stream, std::vector<ChatDelta>* out) {
    for (;;) {
      absl::StatusOr<std::optional<ChatDelta>> delta = co_await stream.Next();
      if (!delta.ok()) co_return delta.status();
      if (!delta->has_value()) co_return absl::OkStatus();
      out->push_back(**delta);
    }
  }

  static void ExpectSigned(const Seen& seen) {
    ASSERT_TRUE(seen.identity.ok()) << seen.identity.status();
    EXPECT_EQ(seen.identity->region, "us-west-2");
    EXPECT_EQ(seen.identity->service, "bedrock");
  }

  RequestContext ctx_;
};

}  // namespace basalt::models::bedrock_testing
