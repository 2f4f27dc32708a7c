// Kek: the key-encryption key that wraps every tenant's data keys, and where
// it comes from (a key file or an environment variable's value).
//
// A KEK is 32 random bytes. Its id is the hex of the first 8 bytes of
// SHA-256(key); the id is stored beside every wrapped data key so a wrong KEK
// is reported by name instead of failing as garbage. (64 bits of a hash of a
// 256-bit random key tell an attacker nothing useful about the key.)
//
// Data keys are wrapped with AES-256-GCM, not AES key wrap (RFC 5649): it is
// the primitive already here and tested against Wycheproof, and its
// associated data binds each wrapped key to its tenant and version, so a
// wrapped key copied to another row of keys.db does not unwrap. Random 96-bit
// nonces are safe because a KEK wraps few keys (one per tenant per rotation),
// far below the 2^32 limit. Wrapped form: [nonce 12][ciphertext 32][tag 16].
//
// Thread-safety: a Kek is immutable after construction; const methods may be
// called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt::crypto {

class Kek {
 public:
  static constexpr size_t kSize = 32;
  static constexpr size_t kWrappedSize = 12 + 32 + 16;

  // From exactly 32 raw bytes; kInvalidArgument otherwise.
  [[nodiscard]] static absl::StatusOr<Kek> FromBytes(std::string_view bytes);
  // From text: 64 hex characters or base64 of 32 bytes, surrounding
  // whitespace trimmed. kInvalidArgument naming `source` otherwise, e.g.
  // "kek_file /path: expected 32 bytes as 64 hex characters or base64".
  [[nodiscard]] static absl::StatusOr<Kek> Parse(std::string_view text, std::string_view source);
  // 32 bytes from RAND_bytes; kInternal if the generator fails.
  [[nodiscard]] static absl::StatusOr<Kek> Generate();

  Kek(const Kek& other) = default;
  Kek& operator=(const Kek& other) = default;
  ~Kek();  // Clears the key bytes.

  const std::string& id() const { return id_; }
  // The key as 64 lowercase hex characters (the key file's form).
  std::string ToHex() const;

  // Wraps a 32-byte data key for (tenant, version): kWrappedSize bytes.
  [[nodiscard]] absl::StatusOr<std::string> Wrap(std::string_view data_key, std::string_view tenant,
                                                 uint32_t version) const;
  // Unwraps what Wrap produced for the same (tenant, version). kDataLoss
  // "wrapped data key does not authenticate" for anything else.
  [[nodiscard]] absl::StatusOr<std::string> Unwrap(std::string_view wrapped,
                                                   std::string_view tenant, uint32_t version) const;

 private:
  explicit Kek(std::string_view bytes);
  std::string_view key() const {
    return std::string_view(reinterpret_cast<const char*>(key_.data()), key_.size());
  }

  std::array<uint8_t, kSize> key_;
  std::string id_;
};

// Where the KEK comes from. The environment value wins when set; otherwise
// the key file is read, or created when missing and `create_if_missing`.
struct KekSource {
  std::string kek_file;
  std::string kek_env_value;
  bool create_if_missing = true;
};

struct LoadedKek {
  Kek kek;
  // For the caller to log: that a key file was generated, or that an
  // existing one is readable by others. Empty when there is nothing to say.
  std::string notice;
};

// Loads (or generates) the KEK. kInvalidArgument when neither source is
// given or the text is malformed; kNotFound when the file is missing and may
// not be created; kPermissionDenied / kInternal for I/O failures, naming the
// path.
[[nodiscard]] absl::StatusOr<LoadedKek> LoadKek(const KekSource& source);

// Creates `path` with mode 0600 (failing if it exists) holding the key as hex
// and a newline, and syncs it and its directory.
[[nodiscard]] absl::Status WriteKekFile(const std::string& path, const Kek& kek);

}  // namespace basalt::crypto
