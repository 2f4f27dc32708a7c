#include "tenancy/jose/base64url.h"

#include <array>
#include <cstdint>

#include "core/strings.h"

namespace basalt::jose {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> MakeReverse() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kReverse = MakeReverse();

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

absl::StatusOr<std::string> Base64UrlDecode(std::string_view text, std::string_view what) {
  auto bad = [&] { return absl::InvalidArgumentError(StrCat("invalid base64url in ", what)); };
  const size_t rest = text.size() % 4;
  if (rest == 1) return bad();
  std::string out(text.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1), '\0');
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  size_t o = 0;
  size_t i = 0;
  for (; i + 4 <= text.size(); i += 4) {
    const int8_t a = kReverse[in[i]], b = kReverse[in[i + 1]], c = kReverse[in[i + 2]],
                 d = kReverse[in[i + 3]];
    if ((a | b | c | d) < 0) return bad();  // -1 is the only negative entry
    const uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    out[o++] = static_cast<char>(v >> 16);
    out[o++] = static_cast<char>(v >> 8);
    out[o++] = static_cast<char>(v);
  }
  if (rest != 0) {
    uint32_t v = 0;
    for (size_t k = 0; k < rest; ++k) {
      const int8_t x = kReverse[in[i + k]];
      if (x < 0) return bad();
      v |= uint32_t(x) << (18 - 6 * k);
    }
    // The leftover low bits (4 after 2 characters, 2 after 3) must be zero, or
    // two texts would decode alike.
    if ((rest == 2 && (v & 0xffff) != 0) || (rest == 3 && (v & 0xff) != 0)) return bad();
    out[o++] = static_cast<char>(v >> 16);
    if (rest == 3) out[o++] = static_cast<char>(v >> 8);
  }
  return out;
}

}  // namespace basalt::jose
