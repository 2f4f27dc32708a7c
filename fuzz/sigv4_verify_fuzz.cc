// Fuzzes the SigV4 verifier with raw HTTP/1.1 request text (request line,
// headers, body), against one fixed credential and a clock fixed at the time the
// seeds were signed. Any verdict is fine; crashes and sanitizer reports are not.
// It also checks a round-trip property: when the parsed request can carry a
// signature, signing it ourselves (header flavour, then presigned) must produce
// a request the verifier accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/strings.h"
#include "net/sigv4.h"
#include "net/sigv4_verifier.h"

namespace {

using basalt::sigv4::AwsCredentials;
using basalt::sigv4::SignableRequest;

const AwsCredentials& Credentials() {
  static const AwsCredentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                          ""};
  return credentials;
}

const basalt::sigv4::SigV4Verifier& Verifier() {
  static const basalt::FakeClock clock(basalt::sigv4::ParseAmzDate("20150830T123600Z").value());
  static const basalt::sigv4::SigV4Verifier verifier(
      [](std::string_view id) -> std::optional<AwsCredentials> {
        if (id != Credentials().access_key_id) return std::nullopt;
        return Credentials();
      },
      clock);
  return verifier;
}

basalt::sigv4::SigningParams Params() {
  basalt::sigv4::SigningParams params;
  params.region = "us-east-1";
  params.service = "service";
  params.time = basalt::sigv4::ParseAmzDate("20150830T123600Z").value();
  params.expires = std::chrono::seconds(3600);
  return params;
}

bool QueryHasKey(const SignableRequest& request, std::string_view key) {
  for (std::string_view piece : basalt::Split(request.query, '&')) {
    if (basalt::sigv4::UriDecode(piece.substr(0, piece.find('='))) == key) return true;
  }
  return false;
}

bool HasHeader(const SignableRequest& request, std::string_view name) {
  return !basalt::sigv4::HeaderValues(request, name).empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<SignableRequest> request = basalt::sigv4::ParseRawRequest(text);
  if (!request.ok()) return 0;
  (void)Verifier().Verify(*request);

  // The verifier requires a signed Host header and exactly one auth mechanism.
  if (!HasHeader(*request, "host") || QueryHasKey(*request, "X-Amz-Algorithm")) return 0;
  SignableRequest header_signed = *request;
  if (basalt::sigv4::SignHeaders(header_signed, Credentials(), Params()).ok() &&
      !Verifier().Verify(header_signed).ok()) {
    std::abort();
  }
  // Presigning keeps headers as they are, so an Authorization header would make
  // two mechanisms, and an x-amz-content-sha256 header overrides the body hash.
  if (HasHeader(*request, "authorization") || HasHeader(*request, "x-amz-content-sha256")) {
    return 0;
  }
  SignableRequest presigned = *std::move(request);
  if (basalt::sigv4::PresignQuery(presigned, Credentials(), Params()).ok() &&
      !Verifier().Verify(presigned).ok()) {
    std::abort();
  }
  return 0;
}
