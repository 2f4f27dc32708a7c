#include "tenancy/field_cipher.h"

#include "core/strings.h"
#include "tenancy/crypto/envelope.h"

namespace basalt::tenancy {

namespace {
constexpr std::string_view kPrefix = "enc1:";
}  // namespace

bool FieldCipher::IsSealed(std::string_view stored) {
  return stored.substr(0, kPrefix.size()) == kPrefix;
}

absl::StatusOr<std::string> FieldCipher::Seal(std::string_view tenant, std::string_view table,
                                              std::string_view row, std::string_view field,
                                              std::string_view plaintext) const {
  if (plaintext.empty()) return std::string();
  auto envelope = keys_.Encrypt(crypto::FieldRef{tenant, table, row, field}, plaintext);
  if (!envelope.ok()) return envelope.status();
  return StrCat(kPrefix, crypto::EnvelopeToBase64(*envelope));
}

absl::StatusOr<std::string> FieldCipher::Open(std::string_view tenant, std::string_view table,
                                              std::string_view row, std::string_view field,
                                              std::string_view stored) const {
  if (!IsSealed(stored)) return std::string(stored);
  auto envelope = crypto::EnvelopeFromBase64(stored.substr(kPrefix.size()));
  if (!envelope.ok()) {
    return absl::DataLossError(StrCat(table, " ", row, " ", field, ": ", envelope.status().message()));
  }
  return keys_.Decrypt(crypto::FieldRef{tenant, table, row, field}, *envelope);
}

}  // namespace basalt::tenancy
