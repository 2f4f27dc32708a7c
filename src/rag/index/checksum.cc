#include "rag/index/checksum.h"

#include <bit>
#include <cstring>

namespace basalt::rag {
namespace {

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

uint64_t Round(uint64_t lane, uint64_t word) { return std::rotl(lane + word * kP2, 31) * kP1; }

uint64_t Fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

Checksum64::Checksum64() : lanes_{kP1 + kP2, kP2, 0, 0 - kP1} {}

void Checksum64::Block(const char* block) {
  for (int i = 0; i < 4; ++i) lanes_[i] = Round(lanes_[i], Load64(block + 8 * i));
}

void Checksum64::Update(std::string_view bytes) {
  if (bytes.empty()) return;  // (an empty view's data() may be null, which memcpy must not get)
  total_ += bytes.size();
  const char* p = bytes.data();
  size_t n = bytes.size();
  if (pending_size_ > 0) {
    size_t take = std::min(n, pending_.size() - pending_size_);
    std::memcpy(pending_.data() + pending_size_, p, take);
    pending_size_ += take;
    p += take;
    n -= take;
    if (pending_size_ < pending_.size()) return;
    Block(pending_.data());
    pending_size_ = 0;
  }
  for (; n >= 32; p += 32, n -= 32) Block(p);
  std::memcpy(pending_.data(), p, n);
  pending_size_ = n;
}

uint64_t Checksum64::Digest() const {
  uint64_t h = std::rotl(lanes_[0], 1) + std::rotl(lanes_[1], 7) + std::rotl(lanes_[2], 12) +
               std::rotl(lanes_[3], 18);
  size_t i = 0;
  for (; i + 8 <= pending_size_; i += 8)
    h = std::rotl(h ^ Round(0, Load64(&pending_[i])), 27) * kP1;
  for (; i < pending_size_; ++i) {
    h = std::rotl(h ^ (static_cast<uint64_t>(static_cast<unsigned char>(pending_[i])) * kP3), 11) *
        kP1;
  }
  return Fmix64(h ^ total_);
}

}  // namespace basalt::rag
