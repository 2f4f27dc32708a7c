// JWS algorithms (RFC 7518 section 3, RFC 8037 for EdDSA). The general JWS
// verifier knows all of these (the RFC 7520 cookbook and Wycheproof use PS384,
// ES512, HS512, ...); the JWT path admits only kJwtAlgs.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace basalt::jose {

enum class Alg : uint8_t {
  kRS256, kRS384, kRS512,
  kPS256, kPS384, kPS512,
  kES256, kES384, kES512,
  kEdDSA,
  kHS256, kHS384, kHS512,
};

// The algorithms a JWT issuer may be configured with.
inline constexpr Alg kJwtAlgs[] = {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA,
                                   Alg::kHS256};

enum class KeyFamily : uint8_t { kRsa, kEc, kOkp, kOct };

// Exact, case-sensitive names ("RS256"); "none" and anything unknown -> nullopt.
std::optional<Alg> ParseAlg(std::string_view name);
std::string_view AlgName(Alg alg);
KeyFamily FamilyOf(Alg alg);
bool IsJwtAlg(Alg alg);
// Digest output size in bytes (32, 48, 64); EdDSA: 0 (Ed25519 hashes inside).
int HashBytes(Alg alg);

// A small set of algorithms, one bit each.
class AlgSet {
 public:
  AlgSet() = default;
  AlgSet(std::initializer_list<Alg> algs) {
    for (Alg a : algs) Add(a);
  }
  static AlgSet Of(const std::vector<Alg>& algs) {
    AlgSet set;
    for (Alg a : algs) set.Add(a);
    return set;
  }
  void Add(Alg alg) { bits_ |= Bit(alg); }
  bool Contains(Alg alg) const { return (bits_ & Bit(alg)) != 0; }
  bool empty() const { return bits_ == 0; }
  AlgSet Intersect(AlgSet other) const { return AlgSet(bits_ & other.bits_); }
  friend bool operator==(AlgSet a, AlgSet b) { return a.bits_ == b.bits_; }

 private:
  explicit AlgSet(uint32_t bits) : bits_(bits) {}
  static uint32_t Bit(Alg alg) { return 1u << static_cast<uint32_t>(alg); }
  uint32_t bits_ = 0;
};

}  // namespace basalt::jose
