// Verifies SigV4-signed requests, with an Authorization header or as a
// presigned URL (X-Amz-* query parameters).
//
// Thread-safety: Verify is const and may run concurrently from any thread, as
// long as the credential lookup is safe to call concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "net/sigv4.h"

namespace basalt::sigv4 {

struct VerifiedIdentity {
  std::string access_key_id;
  // From the credential scope. The verifier accepts any region and service; the
  // caller checks they are the ones it serves.
  std::string region;
  std::string service;
};

class SigV4Verifier {
 public:
  // Returns the credentials for an access key id, or nullopt when it is unknown.
  using CredentialLookup =
      std::function<std::optional<AwsCredentials>(std::string_view access_key_id)>;

  // `clock` must outlive the verifier. `max_clock_skew` bounds how far a
  // header-signed request's X-Amz-Date may be from now in either direction, and
  // how far a presigned URL's X-Amz-Date may be ahead of now.
  SigV4Verifier(CredentialLookup lookup, const Clock& clock,
                std::chrono::seconds max_clock_skew = std::chrono::minutes(5));

  // Checks the request's signature. The request must carry exactly one of an
  // Authorization header and an X-Amz-Algorithm query parameter.
  //
  // The signature is accepted when it matches the canonical request with the
  // normalized path or (if different) the path as sent, since signers may do
  // either; and for presigned URLs, with or without an X-Amz-Security-Token
  // parameter, since signers may add the token after signing. Credentials with
  // a session token require the request to carry that same token; credentials
  // without one reject a request that carries a token. An x-amz-content-sha256
  // header must equal the body's SHA-256 or be UNSIGNED-PAYLOAD.
  //
  // Errors:
  //  kUnauthenticated: no signature, a malformed or incomplete one (the message
  //    names the field: "Authorization: missing SignedHeaders"), an unsupported
  //    algorithm or payload mode, an unknown access key id or a wrong session
  //    token ("The security token included in the request is invalid.").
  //  kPermissionDenied: the signature does not match ("The request signature we
  //    calculated does not match the signature you provided. ..."), the body does
  //    not match x-amz-content-sha256, the request time is too skewed, or the
  //    presigned URL has expired ("Signature expired: ...").
  //  kInternal: OpenSSL failed.
  absl::StatusOr<VerifiedIdentity> Verify(const SignableRequest& request) const;

 private:
  CredentialLookup lookup_;
  const Clock& clock_;
  std::chrono::seconds max_clock_skew_;
};

}  // namespace basalt::sigv4
