// Fuzzes VerifyJwt with any bytes as the token, against a fixed key set (one
// key per JWT algorithm, public values fixed below so runs are reproducible)
// and policy. Any verdict is fine except accepting a token: the corpus holds
// no token signed by these keys and a fuzzer cannot make a signature, so OK
// means a forgery got through. The 8 KiB limit keeps each run bounded (at
// most one signature check per input).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tenancy/jose/jwt.h"
#include "tenancy/jose/key_set.h"

namespace {

using basalt::jose::Alg;

// Public keys from RFC 7515 appendix A.3 (P-256), RFC 8037 appendix A
// (Ed25519) and RFC 7520 section 3.3 (RSA); HS256 uses a fixed secret.
constexpr char kJwks[] = R"({"keys":[
 {"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
 {"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
 {"kty":"RSA","kid":"rsa","alg":"RS256","n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw","e":"AQAB"}]})";

struct Fixture {
  Fixture() {
    basalt::jose::JwksOptions options{
        {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA, Alg::kHS256}};
    absl::StatusOr<basalt::jose::KeySet> set = basalt::jose::KeySet::ParseJwks(kJwks, options);
    if (!set.ok()) std::abort();
    keys = *set;
    keys.Add(*basalt::jose::VerifyKey::Hmac(std::string(32, '\x5a'), "hs"));
    policy.issuer = "https://issuer.example";
    policy.audiences = {"basalt"};
    policy.algorithms = {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA, Alg::kHS256};
  }
  basalt::jose::KeySet keys;
  basalt::jose::JwtPolicy policy;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fixture;
  std::string_view token(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<basalt::jose::VerifiedJwt> r =
      basalt::jose::VerifyJwt(token, fixture.keys, fixture.policy, 1'700'000'000);
  if (r.ok()) std::abort();  // forged without a private key
  (void)basalt::jose::PeekIssuer(token, 8192);
  return 0;
}
