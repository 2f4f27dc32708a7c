#include "tenancy/crypto/kek.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/strings/ascii.h"
#include "core/strings.h"
#include "tenancy/crypto/aes_gcm.h"
#include "tenancy/crypto/encoding.h"

namespace basalt::crypto {
namespace {

// Associated data of a wrapped key: a label no field AAD starts with (field
// AAD starts with the format byte 0x01), the tenant length-prefixed, the
// version.
std::string WrapAad(std::string_view tenant, uint32_t version) {
  std::string aad = "basalt data key v1";
  const uint32_t n = static_cast<uint32_t>(tenant.size());
  const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  aad.append(len, 4);
  aad.append(tenant);
  const char ver[4] = {static_cast<char>(version >> 24), static_cast<char>(version >> 16),
                       static_cast<char>(version >> 8), static_cast<char>(version)};
  aad.append(ver, 4);
  return aad;
}

absl::Status ErrnoStatus(int err, std::string_view what, const std::string& path) {
  std::string message = StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  if (err == ENOENT) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

// Reads a small text file (a key file is under 100 bytes; more is refused).
absl::StatusOr<std::string> ReadKeyFile(const std::string& path, mode_t* mode) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open kek_file", path);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(StrCat("kek_file ", path, ": not a regular file"));
  }
  *mode = st.st_mode & 0777;
  std::string text(4096, '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "cannot read kek_file", path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  return text;
}

}  // namespace

Kek::Kek(std::string_view bytes) {
  std::memcpy(key_.data(), bytes.data(), kSize);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(key_.data(), key_.size(), digest);
  id_ = HexEncode(std::string_view(reinterpret_cast<const char*>(digest), 8));
  OPENSSL_cleanse(digest, sizeof(digest));
}

Kek::~Kek() { OPENSSL_cleanse(key_.data(), key_.size()); }

absl::StatusOr<Kek> Kek::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) {
    return absl::InvalidArgumentError(
        StrCat("key-encryption key must be 32 bytes, got ", bytes.size()));
  }
  return Kek(bytes);
}

absl::StatusOr<Kek> Kek::Parse(std::string_view text, std::string_view source) {
  const std::string_view trimmed = ToStd(absl::StripAsciiWhitespace(ToAbsl(text)));
  std::optional<std::string> bytes;
  if (trimmed.size() == 2 * kSize) {
    bytes = HexDecode(trimmed);
  } else {
    bytes = Base64Decode(trimmed);
  }
  if (!bytes.has_value() || bytes->size() != kSize) {
    if (bytes.has_value()) OPENSSL_cleanse(bytes->data(), bytes->size());
    return absl::InvalidArgumentError(
        StrCat(source, ": expected 32 bytes as 64 hex characters or base64"));
  }
  Kek kek(*bytes);
  OPENSSL_cleanse(bytes->data(), bytes->size());
  return kek;
}

absl::StatusOr<Kek> Kek::Generate() {
  std::array<uint8_t, kSize> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::InternalError("RAND_bytes failed generating a key-encryption key");
  }
  Kek kek(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return kek;
}

std::string Kek::ToHex() const { return HexEncode(key()); }

absl::StatusOr<std::string> Kek::Wrap(std::string_view data_key, std::string_view tenant,
                                      uint32_t version) const {
  if (data_key.size() != 32) return absl::InvalidArgumentError("data key must be 32 bytes");
  std::string wrapped(kWrappedSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(wrapped.data()), 12) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  const std::string aad = WrapAad(tenant, version);
  if (absl::Status s = AesGcm::SealTo(key(), std::string_view(wrapped).substr(0, 12), aad, data_key,
                                      16, wrapped.data() + 12);
      !s.ok()) {
    return s;
  }
  return wrapped;
}

absl::StatusOr<std::string> Kek::Unwrap(std::string_view wrapped, std::string_view tenant,
                                        uint32_t version) const {
  if (wrapped.size() != kWrappedSize) {
    return absl::DataLossError("wrapped data key does not authenticate: wrong size");
  }
  const std::string aad = WrapAad(tenant, version);
  absl::StatusOr<std::string> key_bytes =
      AesGcm::Open(key(), wrapped.substr(0, 12), aad, wrapped.substr(12), 16);
  if (!key_bytes.ok()) {
    if (absl::IsDataLoss(key_bytes.status())) {
      return absl::DataLossError("wrapped data key does not authenticate");
    }
    return key_bytes.status();
  }
  return key_bytes;
}

absl::Status WriteKekFile(const std::string& path, const Kek& kek) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "cannot create kek_file", path);
  std::string text = StrCat(kek.ToHex(), "\n");
  size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    done += static_cast<size_t>(n);
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) {
    ::unlink(path.c_str());
    return ErrnoStatus(err, "cannot write kek_file", path);
  }
  // The new name must survive a crash too, or the keys wrapped by it are lost.
  const std::string parent = std::filesystem::path(path).parent_path().string();
  const std::string dir = parent.empty() ? std::string(".") : parent;
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadedKek> LoadKek(const KekSource& source) {
  if (!source.kek_env_value.empty()) {
    absl::StatusOr<Kek> kek =
        Kek::Parse(source.kek_env_value, "key-encryption key from the environment");
    if (!kek.ok()) return kek.status();
    return LoadedKek{*std::move(kek), ""};
  }
  if (source.kek_file.empty()) {
    return absl::InvalidArgumentError(
        "no key-encryption key: set kek_file or the key-encryption key environment variable");
  }
  const std::string& path = source.kek_file;
  mode_t mode = 0;
  absl::StatusOr<std::string> text = ReadKeyFile(path, &mode);
  if (absl::IsNotFound(text.status()) && source.create_if_missing) {
    absl::StatusOr<Kek> kek = Kek::Generate();
    if (!kek.ok()) return kek.status();
    if (absl::Status s = WriteKekFile(path, *kek); !s.ok()) return s;
    return LoadedKek{*std::move(kek),
                     StrCat("generated a new key-encryption key at ", path,
                            " (mode 0600; back it up: data encrypted under it cannot be read "
                            "without it)")};
  }
  if (!text.ok()) return text.status();
  absl::StatusOr<Kek> kek = Kek::Parse(*text, StrCat("kek_file ", path));
  OPENSSL_cleanse(text->data(), text->size());
  if (!kek.ok()) return kek.status();
  std::string notice;
  if ((mode & 0077) != 0) {
    notice = StrCat("kek_file ", path, " is accessible to group or others (mode 0", (mode >> 6) & 7,
                    (mode >> 3) & 7, mode & 7, "); chmod 600 it");
  }
  return LoadedKek{*std::move(kek), std::move(notice)};
}

}  // namespace basalt::crypto
