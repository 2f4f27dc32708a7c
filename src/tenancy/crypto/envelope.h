// The ciphertext envelope and the associated data that binds it to its place.
//
// Envelope, format 1 (all integers big-endian):
//   [format 0x01][key version u32][nonce 12][ciphertext][tag 16]
// so 33 bytes of overhead. The key version names the tenant's data key; the
// tenant itself is not stored (the caller knows which row it read) but is
// bound through the associated data:
//   [format 0x01][key version u32]
//   [len u32][tenant] [len u32][table] [len u32][row id] [len u32][field]
// Length prefixes make the encoding injective: ("ab","c") and ("a","bc") give
// different bytes, so no two places share associated data. A ciphertext
// copied to another tenant, table, row or field, or relabelled with another
// key version, fails to authenticate.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"

namespace basalt::crypto {

// Where a ciphertext lives. Views: the strings must outlive the call.
struct FieldRef {
  std::string_view tenant;
  std::string_view table;
  std::string_view row_id;
  std::string_view field;
};

inline constexpr uint8_t kEnvelopeFormat = 1;
inline constexpr size_t kEnvelopeNonceSize = 12;
inline constexpr size_t kEnvelopeTagSize = 16;
inline constexpr size_t kEnvelopeHeaderSize = 1 + 4 + kEnvelopeNonceSize;
inline constexpr size_t kEnvelopeOverhead = kEnvelopeHeaderSize + kEnvelopeTagSize;

// A parsed envelope; views into the bytes given to ParseEnvelope.
struct EnvelopeView {
  uint32_t key_version = 0;
  std::string_view nonce;
  std::string_view sealed;  // ciphertext || tag
};

// Splits an envelope. kDataLoss "ciphertext does not authenticate: ..." when
// it is shorter than the overhead, has an unknown format byte or key version
// 0 (versions start at 1). Authenticity is checked only by decryption.
[[nodiscard]] absl::StatusOr<EnvelopeView> ParseEnvelope(std::string_view envelope);

// Writes the 5-byte prefix (format, key version) at `out`.
void WriteEnvelopePrefix(uint32_t key_version, char* out);

// Associated data for `ref` under `key_version` (see the layout above). Up to
// 256 bytes stay on the stack. kInvalidArgument if a part is 4 GiB or more.
using Aad = absl::InlinedVector<char, 256>;
[[nodiscard]] absl::StatusOr<Aad> BuildAad(const FieldRef& ref, uint32_t key_version);

// Envelopes in JSON text fields: standard padded base64.
std::string EnvelopeToBase64(std::string_view envelope);
// kDataLoss "ciphertext does not authenticate: not base64" for bad text.
[[nodiscard]] absl::StatusOr<std::string> EnvelopeFromBase64(std::string_view text);

}  // namespace basalt::crypto
