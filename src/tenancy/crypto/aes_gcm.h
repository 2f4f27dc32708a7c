// AesGcm: AES-GCM (128, 192 or 256-bit keys) sealing and opening with an
// explicit key, nonce, associated data and tag length, over OpenSSL EVP.
//
// The cipher implementations are fetched once per process (EVP_CIPHER_fetch)
// and each thread keeps one EVP_CIPHER_CTX, so a call allocates nothing beyond
// its result. Nonce uniqueness is the caller's job: a (key, nonce) pair used
// twice reveals the XOR of the plaintexts and lets an attacker forge tags.
//
// Accepted parameters: keys of 16, 24 or 32 bytes; nonces of 1 to 128 bytes
// (12 is the standard size and the only one KeyManager uses; other sizes are
// hashed through GHASH as SP 800-38D describes; 128 is OpenSSL 3's limit); tags of 12 to 16 bytes
// (the lengths SP 800-38D allows for general use). Anything else is kInvalidArgument. A ciphertext
// or tag that does not verify is kDataLoss with the message "ciphertext does not authenticate".
//
// Thread-safety: all functions may be called from any thread at once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt::crypto {

class AesGcm {
 public:
  static constexpr size_t kStandardNonceSize = 12;
  static constexpr size_t kMaxTagSize = 16;

  // Returns ciphertext || tag (plaintext.size() + tag_size bytes).
  [[nodiscard]] static absl::StatusOr<std::string> Seal(std::string_view key,
                                                        std::string_view nonce,
                                                        std::string_view aad,
                                                        std::string_view plaintext,
                                                        size_t tag_size = kMaxTagSize);
  // Opens ciphertext || tag as produced by Seal and returns the plaintext.
  [[nodiscard]] static absl::StatusOr<std::string> Open(std::string_view key,
                                                        std::string_view nonce,
                                                        std::string_view aad,
                                                        std::string_view sealed,
                                                        size_t tag_size = kMaxTagSize);

  // The same, writing into caller memory so an envelope is built without a
  // second copy. SealTo writes plaintext.size() + tag_size bytes at `out`;
  // OpenTo writes sealed.size() - tag_size bytes at `out` (which on failure
  // holds no plaintext: it is cleared). `out` may not overlap the input.
  [[nodiscard]] static absl::Status SealTo(std::string_view key, std::string_view nonce,
                                           std::string_view aad, std::string_view plaintext,
                                           size_t tag_size, char* out);
  [[nodiscard]] static absl::Status OpenTo(std::string_view key, std::string_view nonce,
                                           std::string_view aad, std::string_view sealed,
                                           size_t tag_size, char* out);
};

}  // namespace basalt::crypto
