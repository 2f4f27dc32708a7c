// Checksum64: a fast, stable 64-bit checksum of a byte stream, for the index
// files this folder writes (it detects torn writes and flipped bits; it is not
// a cryptographic MAC). The value depends only on the bytes, never on how
// they were split across Update calls, the process or the platform's
// alignment, so a file written by one run verifies in another.
//
// Algorithm: four lanes of 64-bit little-endian words, each folded as
// lane = rotl(lane + word * kP2, 31) * kP1 (the xxHash64 round), the tail
// bytes and the length mixed in at the end with MurmurHash3's fmix64.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace basalt::rag {

class Checksum64 {
 public:
  Checksum64();
  void Update(std::string_view bytes);
  // The checksum of every byte given so far; Update may continue afterwards.
  uint64_t Digest() const;

 private:
  void Block(const char* block);

  std::array<uint64_t, 4> lanes_;
  std::array<char, 32> pending_{};  // a partial block
  size_t pending_size_ = 0;
  uint64_t total_ = 0;
};

}  // namespace basalt::rag
