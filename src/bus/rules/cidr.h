// CidrBlock: an IPv4 or IPv6 network for event-ruler's "cidr" operator.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace basalt::bus {

class CidrBlock {
 public:
  CidrBlock() = default;

  // Parses "address/prefix" (e.g. "10.0.0.0/24", "2001:db8::/32"). Host bits
  // are masked off. Errors are kInvalidArgument with a bare message quoting the
  // operand (the caller adds the path).
  static absl::StatusOr<CidrBlock> Parse(std::string_view text);

  // True when `address` is a textual IP of the same family inside the block.
  // Anything that is not an IP address simply does not match.
  bool Contains(std::string_view address) const;

 private:
  bool v6_ = false;
  int prefix_bits_ = 0;
  std::array<uint8_t, 16> network_{};  // IPv4 uses the first 4 bytes
};

}  // namespace basalt::bus
