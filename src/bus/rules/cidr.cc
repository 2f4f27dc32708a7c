#include "bus/rules/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "core/strings.h"

namespace basalt::bus {
namespace {

// Longest textual IPv6 address, e.g. "ffff:...:255.255.255.255" (45 chars).
constexpr size_t kMaxAddressChars = 45;

// Parses a textual IPv4 or IPv6 address into `out` (network byte order). The
// family follows from the text: a ':' means IPv6. inet_pton wants a NUL-
// terminated string, so the text is copied into a bounded stack buffer.
bool ParseAddress(std::string_view text, bool* v6, std::array<uint8_t, 16>* out) {
  if (text.empty() || text.size() > kMaxAddressChars) return false;
  char buf[kMaxAddressChars + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  out->fill(0);
  *v6 = text.find(':') != std::string_view::npos;
  return inet_pton(*v6 ? AF_INET6 : AF_INET, buf, out->data()) == 1;
}

std::string Quoted(std::string_view text) { return StrCat("\"", text, "\""); }

}  // namespace

absl::StatusOr<CidrBlock> CidrBlock::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("expected address/prefix, got ", Quoted(text.substr(0, 64))));
  }
  CidrBlock block;
  if (!ParseAddress(text.substr(0, slash), &block.v6_, &block.network_)) {
    return absl::InvalidArgumentError(StrCat("invalid address ", Quoted(text.substr(0, 64))));
  }
  const std::string_view bits = text.substr(slash + 1);
  const int max_bits = block.v6_ ? 128 : 32;
  int value = 0;
  bool ok = !bits.empty() && bits.size() <= 3;
  for (char c : bits) {
    if (c < '0' || c > '9') ok = false;
    if (ok) value = value * 10 + (c - '0');
  }
  if (!ok || value > max_bits) {
    return absl::InvalidArgumentError(StrCat("invalid prefix ", Quoted(text.substr(0, 64))));
  }
  block.prefix_bits_ = value;
  // Masking host bits lets Contains compare whole bytes against the network.
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(value - i * 8, 0, 8);
    block.network_[i] &= static_cast<uint8_t>(0xFF00 >> keep);
  }
  return block;
}

bool CidrBlock::Contains(std::string_view address) const {
  bool v6 = false;
  std::array<uint8_t, 16> ip;
  if (!ParseAddress(address, &v6, &ip) || v6 != v6_) return false;
  int bits = prefix_bits_;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = static_cast<uint8_t>(0xFF00 >> std::min(bits, 8));
    if ((ip[i] & mask) != network_[i]) return false;
  }
  return true;
}

}  // namespace basalt::bus
