#include "core/ids.h"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstring>

namespace basalt {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// RAND_bytes is thread-safe but not free; draw randomness in blocks per thread.
class RandomBlock {
 public:
  void Fill(uint8_t* out, size_t n) {
    if (pos_ + n > buf_.size()) {
      if (RAND_bytes(buf_.data(), static_cast<int>(buf_.size())) != 1) {
        // The CSPRNG failing is unrecoverable: ids would become guessable.
        std::abort();
      }
      pos_ = 0;
    }
    std::memcpy(out, buf_.data() + pos_, n);
    pos_ += n;
  }

 private:
  std::array<uint8_t, 4096> buf_{};
  size_t pos_ = 4096;
};

int DecodeChar(char c) {
  const char* p = std::strchr(kCrockford, c);
  return (p == nullptr || c == '\0') ? -1 : static_cast<int>(p - kCrockford);
}

}  // namespace

std::string NewId(std::string_view prefix, const Clock& clock) {
  thread_local RandomBlock random;
  const uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count());
  uint8_t bytes[16];
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  random.Fill(bytes + 6, 10);

  std::string out(prefix);
  out.resize(prefix.size() + 26);
  char* dst = out.data() + prefix.size();
  // 128 bits -> 26 base32 digits (the first carries only 3 bits).
  unsigned __int128 v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  for (int i = 25; i >= 0; --i) {
    dst[i] = kCrockford[static_cast<int>(v & 31)];
    v >>= 5;
  }
  return out;
}

int64_t IdTimeMillis(std::string_view id) {
  if (id.size() != 26) return -1;
  unsigned __int128 v = 0;
  for (char c : id) {
    int d = DecodeChar(c);
    if (d < 0) return -1;
    v = (v << 5) | static_cast<unsigned>(d);
  }
  return static_cast<int64_t>(v >> 80);
}

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace basalt
