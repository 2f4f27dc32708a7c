#include "tenancy/crypto/envelope.h"

#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "core/strings.h"
#include "tenancy/crypto/encoding.h"

namespace basalt::crypto {
namespace {

void PutU32(uint32_t v, char* out) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}

uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

absl::Status Malformed(std::string_view why) {
  return absl::DataLossError(StrCat("ciphertext does not authenticate: ", why));
}

}  // namespace

absl::StatusOr<EnvelopeView> ParseEnvelope(std::string_view envelope) {
  if (envelope.size() < kEnvelopeOverhead) return Malformed("envelope too short");
  if (static_cast<uint8_t>(envelope[0]) != kEnvelopeFormat) {
    return Malformed(StrCat("unknown envelope format ", static_cast<uint8_t>(envelope[0])));
  }
  EnvelopeView view;
  view.key_version = GetU32(envelope.data() + 1);
  if (view.key_version == 0) return Malformed("key version 0");
  view.nonce = envelope.substr(5, kEnvelopeNonceSize);
  view.sealed = envelope.substr(kEnvelopeHeaderSize);
  return view;
}

void WriteEnvelopePrefix(uint32_t key_version, char* out) {
  out[0] = static_cast<char>(kEnvelopeFormat);
  PutU32(key_version, out + 1);
}

absl::StatusOr<Aad> BuildAad(const FieldRef& ref, uint32_t key_version) {
  const std::string_view parts[] = {ref.tenant, ref.table, ref.row_id, ref.field};
  size_t size = 5;
  for (std::string_view part : parts) {
    if (part.size() > std::numeric_limits<uint32_t>::max()) {
      return absl::InvalidArgumentError("field reference part of 4 GiB or more");
    }
    size += 4 + part.size();
  }
  Aad aad(size);
  char* p = aad.data();
  WriteEnvelopePrefix(key_version, p);
  p += 5;
  for (std::string_view part : parts) {
    PutU32(static_cast<uint32_t>(part.size()), p);
    p += 4;
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  return aad;
}

std::string EnvelopeToBase64(std::string_view envelope) { return Base64Encode(envelope); }

absl::StatusOr<std::string> EnvelopeFromBase64(std::string_view text) {
  std::optional<std::string> bytes = Base64Decode(text);
  if (!bytes.has_value()) return Malformed("not base64");
  return *std::move(bytes);
}

}  // namespace basalt::crypto
