// KeySet: the verification keys of one issuer, from a JWKS document and/or
// configured secrets. Immutable once built (share it as
// std::shared_ptr<const KeySet>); safe to read from many threads.
//
// JWKS rules (ParseJwks):
//   - at most JwksOptions::max_bytes of text and max_keys keys; strict JSON
//     (duplicate member names rejected), an object with a "keys" array;
//   - each key goes through VerifyKey::FromJwk with the issuer's algorithms.
//     A key that fails (unsupported kty/curve, "use" other than "sig",
//     "key_ops" without "verify", malformed, too weak, private members) is
//     skipped and its reason kept in skipped();
//   - "oct" keys are skipped unless allow_hmac_keys: by default HS256 secrets
//     come only from configuration (KeySet::Add / VerifyKey::Hmac);
//   - a set that holds both "oct" keys and public keys is refused whole: a
//     secret published next to public keys is a leaked secret;
//   - keys sharing a kid and kty are all dropped (ambiguous; which one to
//     try would be the token's choice), even when one of them is malformed;
//   - a set with no usable key is an error (InvalidArgument listing reasons).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tenancy/jose/alg.h"
#include "tenancy/jose/verify_key.h"

namespace basalt::jose {

struct JwksOptions {
  AlgSet algorithms;             // the issuer's allowed algorithms
  bool allow_hmac_keys = false;  // accept "oct" keys from the JWKS (HS*)
  size_t max_keys = 64;
  size_t max_bytes = 256 * 1024;
};

class KeySet {
 public:
  KeySet() = default;
  explicit KeySet(std::vector<VerifyKey> keys) : keys_(std::move(keys)) {}

  static absl::StatusOr<KeySet> ParseJwks(std::string_view text, const JwksOptions& options);

  // Adds a configured key (an HMAC secret, usually).
  void Add(VerifyKey key) { keys_.push_back(std::move(key)); }

  // The key for a token's kid and alg:
  //   - a key whose kid equals `kid` and that admits `alg`;
  //   - otherwise, if exactly one key admits `alg` and that key has no kid, it
  //     (a single configured secret matches tokens with or without a kid);
  //   - a token without kid: the one key that admits `alg`, if only one does.
  // NotFound("no key for kid ...") otherwise: the caller may refresh the JWKS
  // and retry (JwksCache does), then report Unauthenticated.
  absl::StatusOr<const VerifyKey*> Find(const std::optional<std::string>& kid, Alg alg) const;

  const std::vector<VerifyKey>& keys() const { return keys_; }
  // One line per JWKS key that was not loaded, with the reason.
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::vector<VerifyKey> keys_;
  std::vector<std::string> skipped_;
};

}  // namespace basalt::jose
