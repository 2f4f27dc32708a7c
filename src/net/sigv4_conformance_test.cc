// aws-c-auth's SigV4 test suite (../shared/conformance/sigv4, read at run time):
// every case is signed in both flavours and must reproduce the canonical request,
// string to sign, signature and signed request byte for byte; the verifier must
// accept each expected signed request and reject it once tampered with.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "gtest/gtest.h"
#include "net/sigv4.h"
#include "net/sigv4_verifier.h"

namespace basalt::sigv4 {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr size_t kExpectedCases = 38;

struct Suite {
  fs::path dir;       // set when found
  std::string error;  // otherwise, why not
};

// BASALT_CONFORMANCE_DIR/sigv4 when the variable is set; else shared/conformance/sigv4
// in the nearest ancestor of this source file (the repository's parent holds shared/).
Suite LocateSuite() {
  if (const char* env = std::getenv("BASALT_CONFORMANCE_DIR"); env != nullptr && *env != '\0') {
    const fs::path dir = fs::path(env) / "sigv4";
    if (fs::is_directory(dir)) return {dir, ""};
    return {{},
            "SigV4 conformance data missing: " + dir.string() +
                " (from BASALT_CONFORMANCE_DIR) is not a directory"};
  }
  const fs::path source_dir = fs::absolute(fs::path(__FILE__)).parent_path();
  for (fs::path p = source_dir;; p = p.parent_path()) {
    const fs::path candidate = p / "shared" / "conformance" / "sigv4";
    if (fs::is_directory(candidate)) return {candidate, ""};
    if (p == p.parent_path()) break;
  }
  // src/net/ -> the repository root -> its parent.
  const fs::path expected =
      source_dir.parent_path().parent_path().parent_path() / "shared" / "conformance" / "sigv4";
  return {{},
          "SigV4 conformance data missing: " + expected.lexically_normal().string() +
              " not found (searched shared/conformance/sigv4 above " + source_dir.string() +
              "; set BASALT_CONFORMANCE_DIR to the conformance directory)"};
}

const Suite& TheSuite() {
  static const Suite suite = LocateSuite();
  return suite;
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  if (TheSuite().dir.empty()) return names;
  for (const auto& entry : fs::directory_iterator(TheSuite().dir)) {
    if (fs::exists(entry.path() / "context.json")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

enum class Flavour { kHeader, kQuery };

struct CaseParam {
  std::string name;
  Flavour flavour;
};

std::vector<CaseParam> AllParams() {
  std::vector<CaseParam> params;
  for (const std::string& name : CaseNames()) {
    params.push_back({name, Flavour::kHeader});
    params.push_back({name, Flavour::kQuery});
  }
  return params;
}

std::string ParamName(const testing::TestParamInfo<CaseParam>& info) {
  std::string name = info.param.name;
  std::replace_if(
      name.begin(), name.end(), [](unsigned char c) { return !std::isalnum(c); }, '_');
  return name + (info.param.flavour == Flavour::kHeader ? "_header" : "_query");
}

class SigV4ConformanceTest : public testing::TestWithParam<CaseParam> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TheSuite().dir.empty()) << TheSuite().error;
    dir_ = TheSuite().dir / GetParam().name;
    prefix_ = GetParam().flavour == Flavour::kHeader ? "header-" : "query-";
    const std::optional<std::string> context = ReadFile(dir_ / "context.json");
    ASSERT_TRUE(context.has_value()) << "missing " << (dir_ / "context.json");
    const nlohmann::json json =
        nlohmann::json::parse(*context, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(json.is_object()) << "malformed " << (dir_ / "context.json");
    const nlohmann::json creds = json.value("credentials", nlohmann::json::object());
    credentials_.access_key_id = creds.value("access_key_id", "");
    credentials_.secret_access_key = creds.value("secret_access_key", "");
    credentials_.session_token = creds.value("token", "");
    params_.region = json.value("region", "");
    params_.service = json.value("service", "");
    params_.normalize_path = json.value("normalize", true);
    params_.sign_body = json.value("sign_body", false);
    params_.omit_session_token = json.value("omit_session_token", false);
    params_.expires = seconds(json.value("expiration_in_seconds", 0));
    std::string timestamp = json.value("timestamp", "");  // 2015-08-30T12:36:00Z
    std::erase_if(timestamp, [](char c) { return c == '-' || c == ':'; });
    absl::StatusOr<std::chrono::system_clock::time_point> time = ParseAmzDate(timestamp);
    ASSERT_TRUE(time.ok()) << time.status();
    params_.time = *time;
  }

  std::string Expected(const std::string& suffix) {
    const std::optional<std::string> text = ReadFile(dir_ / (prefix_ + suffix));
    EXPECT_TRUE(text.has_value()) << "missing " << (dir_ / (prefix_ + suffix));
    return text.value_or("");
  }

  SignableRequest SignedRequest() {
    absl::StatusOr<SignableRequest> request = ParseRawRequest(Expected("signed-request.txt"));
    EXPECT_TRUE(request.ok()) << request.status();
    return request.value_or(SignableRequest());
  }

  absl::StatusOr<VerifiedIdentity> Verify(const SignableRequest& request,
                                          seconds clock_offset = seconds(0)) {
    const FakeClock clock(params_.time + clock_offset);
    const AwsCredentials credentials = credentials_;
    const SigV4Verifier verifier(
        [credentials](std::string_view id) -> std::optional<AwsCredentials> {
          if (id != credentials.access_key_id) return std::nullopt;
          return credentials;
        },
        clock);
    return verifier.Verify(request);
  }

  bool header_flavour() const { return GetParam().flavour == Flavour::kHeader; }

  fs::path dir_;
  std::string prefix_;
  AwsCredentials credentials_;
  SigningParams params_;
};

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SigV4ConformanceTest);

TEST(SigV4ConformanceSuite, IsPresentWithEveryCase) {
  ASSERT_FALSE(TheSuite().dir.empty()) << TheSuite().error;
  EXPECT_EQ(CaseNames().size(), kExpectedCases) << "in " << TheSuite().dir;
}

TEST_P(SigV4ConformanceTest, Signs) {
  const std::optional<std::string> raw = ReadFile(dir_ / "request.txt");
  ASSERT_TRUE(raw.has_value()) << "missing " << (dir_ / "request.txt");
  absl::StatusOr<SignableRequest> request = ParseRawRequest(*raw);
  ASSERT_TRUE(request.ok()) << request.status();

  absl::StatusOr<SigningDetails> details =
      header_flavour() ? SignHeadersWithDetails(*request, credentials_, params_)
                       : PresignQueryWithDetails(*request, credentials_, params_);
  ASSERT_TRUE(details.ok()) << details.status();
  EXPECT_EQ(details->canonical_request, Expected("canonical-request.txt"));
  EXPECT_EQ(details->string_to_sign, Expected("string-to-sign.txt"));
  EXPECT_EQ(details->signature, Expected("signature.txt"));
  EXPECT_EQ(SerializeRequest(*request, "\n"), Expected("signed-request.txt"));
}

TEST_P(SigV4ConformanceTest, VerifierAcceptsSignedRequest) {
  absl::StatusOr<VerifiedIdentity> identity = Verify(SignedRequest());
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->access_key_id, credentials_.access_key_id);
  EXPECT_EQ(identity->region, params_.region);
  EXPECT_EQ(identity->service, params_.service);
}

// Changes the last character of the value of `key` in a query string or an
// Authorization header ("key=value" with ',' / '&' separators).
bool TamperWithComponent(std::string& text, const std::string& key) {
  const size_t start = text.find(key + "=");
  if (start == std::string::npos) return false;
  size_t end = text.find_first_of("&,", start);
  if (end == std::string::npos) end = text.size();
  char& c = text[end - 1];
  c = c == '0' ? '1' : '0';
  return true;
}

TEST_P(SigV4ConformanceTest, VerifierRejectsTamperedSignature) {
  SignableRequest request = SignedRequest();
  bool tampered = false;
  if (header_flavour()) {
    for (auto& [name, value] : request.headers) {
      if (name == "Authorization") tampered = TamperWithComponent(value, "Signature");
    }
  } else {
    tampered = TamperWithComponent(request.query, "X-Amz-Signature");
  }
  ASSERT_TRUE(tampered);
  absl::StatusOr<VerifiedIdentity> identity = Verify(request);
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kPermissionDenied) << identity.status();
  EXPECT_NE(identity.status().message().find("does not match the signature you provided"),
            absl::string_view::npos);
}

TEST_P(SigV4ConformanceTest, VerifierRejectsTamperedSignedHeader) {
  SignableRequest request = SignedRequest();
  for (auto& [name, value] : request.headers) {
    if (name == "Host") value.back() = value.back() == 'm' ? 'n' : 'm';
  }
  absl::StatusOr<VerifiedIdentity> identity = Verify(request);
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kPermissionDenied) << identity.status();
}

TEST_P(SigV4ConformanceTest, VerifierRejectsTamperedBody) {
  SignableRequest request = SignedRequest();
  request.body += 'x';
  absl::StatusOr<VerifiedIdentity> identity = Verify(request);
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kPermissionDenied) << identity.status();
}

TEST_P(SigV4ConformanceTest, VerifierRejectsTamperedDate) {
  SignableRequest request = SignedRequest();
  bool tampered = false;
  if (header_flavour()) {
    for (auto& [name, value] : request.headers) {
      if (name == "X-Amz-Date") {
        value[value.size() - 2] = value[value.size() - 2] == '0' ? '1' : '0';
        tampered = true;
      }
    }
  } else {
    const size_t pos = request.query.find("X-Amz-Date=");
    if (pos != std::string::npos) {
      char& c = request.query[pos + std::string("X-Amz-Date=").size() + 14];
      c = c == '0' ? '1' : '0';
      tampered = true;
    }
  }
  ASSERT_TRUE(tampered);
  absl::StatusOr<VerifiedIdentity> identity = Verify(request);
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kPermissionDenied) << identity.status();
}

TEST_P(SigV4ConformanceTest, VerifierRejectsStaleRequest) {
  // Just past the skew (header flavour) or the presigned URL's lifetime.
  const seconds late = header_flavour() ? seconds(301) : params_.expires + seconds(1);
  absl::StatusOr<VerifiedIdentity> identity = Verify(SignedRequest(), late);
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kPermissionDenied) << identity.status();
  EXPECT_NE(identity.status().message().find("expired"), absl::string_view::npos)
      << identity.status();
  EXPECT_TRUE(Verify(SignedRequest(), late - seconds(2)).ok());
}

INSTANTIATE_TEST_SUITE_P(Aws, SigV4ConformanceTest, testing::ValuesIn(AllParams()), ParamName);

}  // namespace
}  // namespace basalt::sigv4
