// Fuzzes KeySet::ParseJwks with any bytes as the JWKS document, with and
// without oct keys allowed, then looks up every loaded key's kid. Any verdict
// is fine; crashes, sanitizer reports and exceptions escaping are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tenancy/jose/key_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using basalt::jose::Alg;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool allow_hmac : {false, true}) {
    basalt::jose::JwksOptions options{
        {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA, Alg::kHS256, Alg::kES512},
        allow_hmac};
    absl::StatusOr<basalt::jose::KeySet> set = basalt::jose::KeySet::ParseJwks(text, options);
    if (!set.ok()) continue;
    for (const basalt::jose::VerifyKey& key : set->keys()) {
      (void)set->Find(key.kid(), Alg::kES256);
      (void)key.Verify(Alg::kES256, "input", std::string(64, '\1'));
      (void)key.Verify(Alg::kHS256, "input", std::string(32, '\1'));
    }
  }
  return 0;
}
