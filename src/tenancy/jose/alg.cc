#include "tenancy/jose/alg.h"

#include <array>

namespace basalt::jose {
namespace {

struct AlgInfo {
  Alg alg;
  std::string_view name;
  KeyFamily family;
  int hash_bytes;
};

constexpr std::array<AlgInfo, 13> kAlgs = {{
    {Alg::kRS256, "RS256", KeyFamily::kRsa, 32},
    {Alg::kRS384, "RS384", KeyFamily::kRsa, 48},
    {Alg::kRS512, "RS512", KeyFamily::kRsa, 64},
    {Alg::kPS256, "PS256", KeyFamily::kRsa, 32},
    {Alg::kPS384, "PS384", KeyFamily::kRsa, 48},
    {Alg::kPS512, "PS512", KeyFamily::kRsa, 64},
    {Alg::kES256, "ES256", KeyFamily::kEc, 32},
    {Alg::kES384, "ES384", KeyFamily::kEc, 48},
    {Alg::kES512, "ES512", KeyFamily::kEc, 64},
    {Alg::kEdDSA, "EdDSA", KeyFamily::kOkp, 0},
    {Alg::kHS256, "HS256", KeyFamily::kOct, 32},
    {Alg::kHS384, "HS384", KeyFamily::kOct, 48},
    {Alg::kHS512, "HS512", KeyFamily::kOct, 64},
}};

const AlgInfo& Info(Alg alg) { return kAlgs[static_cast<size_t>(alg)]; }

}  // namespace

std::optional<Alg> ParseAlg(std::string_view name) {
  for (const AlgInfo& info : kAlgs) {
    if (info.name == name) return info.alg;
  }
  return std::nullopt;
}

std::string_view AlgName(Alg alg) { return Info(alg).name; }
KeyFamily FamilyOf(Alg alg) { return Info(alg).family; }
int HashBytes(Alg alg) { return Info(alg).hash_bytes; }

bool IsJwtAlg(Alg alg) {
  for (Alg a : kJwtAlgs) {
    if (a == alg) return true;
  }
  return false;
}

}  // namespace basalt::jose
