#include "tenancy/audit/checkpoint.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/log.h"
#include "core/strings.h"
#include "tenancy/audit/audit_entry.h"

namespace basalt::audit {

void PkeyFree::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

std::string CheckpointMessage(const Checkpoint& c) {
  std::string buf;
  AppendField(buf, std::string_view("basalt.audit.checkpoint.v1"));
  AppendField(buf, c.tenant);
  AppendField(buf, c.number);
  AppendField(buf, c.seq);
  AppendField(buf, c.hash);
  AppendField(buf, c.time_ms);
  AppendField(buf, c.tenants);
  return buf;
}

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::UnavailableError(StrCat("cannot read '", path, "': ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` to a new file at `path` with `mode`; refuses to overwrite when
// `exclusive` (two processes racing to create a key must not both win).
absl::Status WriteFile(const std::string& path, const std::string& text, mode_t mode,
                       bool exclusive) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    return absl::UnavailableError(StrCat("cannot create '", path, "': ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return absl::UnavailableError(StrCat("cannot write '", path, "': ", why));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return absl::UnavailableError(StrCat("cannot sync '", path, "'"));
  return absl::OkStatus();
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> PublicPem(evp_pkey_st* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return absl::InternalError("cannot encode the audit public key");
  }
  return BioText(bio.get());
}

// First 16 hex digits of SHA-256 over the raw 32-byte public key.
std::string KeyIdOf(evp_pkey_st* key) {
  unsigned char raw[64];
  size_t size = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1) return "unknown";
  return Sha256Hex(std::string_view(reinterpret_cast<const char*>(raw), size)).substr(0, 16);
}

bool IsEd25519(evp_pkey_st* key) { return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519; }

absl::StatusOr<PkeyPtr> ParsePublic(const std::string& pem, const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || !IsEd25519(key.get())) {
    return absl::InvalidArgumentError(StrCat("'", path, "' is not an Ed25519 public key in PEM"));
  }
  return key;
}

std::string HexDecode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::string();
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::string();
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CheckpointSigner>> CheckpointSigner::LoadOrCreate(
    const std::string& private_key_path, const std::string& public_key_path) {
  PkeyPtr key;
  if (FileExists(private_key_path)) {
    absl::StatusOr<std::string> pem = ReadFile(private_key_path);
    if (!pem.ok()) return pem.status();
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    key.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key || !IsEd25519(key.get())) {
      return absl::InvalidArgumentError(
          StrCat("'", private_key_path, "' is not an Ed25519 private key in PEM"));
    }
    struct stat st;
    if (::stat(private_key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      log::Warn("audit signing key is readable by group or others; chmod 600 it",
                {{"path", private_key_path}});
    }
  } else {
    if (FileExists(public_key_path)) {
      return absl::FailedPreconditionError(
          StrCat("audit private key '", private_key_path, "' is missing but its public key '",
                 public_key_path,
                 "' exists; restore the private key, or move the public key "
                 "away to start a new key (old checkpoints then verify only with the old one)"));
    }
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) return absl::InternalError("cannot generate an Ed25519 key");
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
      return absl::InternalError("cannot encode the audit private key");
    }
    if (absl::Status s = WriteFile(private_key_path, BioText(bio.get()), 0600, /*exclusive=*/true);
        !s.ok()) {
      return s;
    }
    log::Info("generated audit signing key", {{"path", private_key_path}});
  }

  absl::StatusOr<std::string> public_pem = PublicPem(key.get());
  if (!public_pem.ok()) return public_pem.status();
  if (FileExists(public_key_path)) {
    absl::StatusOr<std::string> existing = ReadFile(public_key_path);
    if (!existing.ok()) return existing.status();
    absl::StatusOr<PkeyPtr> pub = ParsePublic(*existing, public_key_path);
    if (!pub.ok()) return pub.status();
    if (EVP_PKEY_eq(pub->get(), key.get()) != 1) {
      return absl::FailedPreconditionError(StrCat("audit public key '", public_key_path,
                                                  "' does not match the private key '",
                                                  private_key_path, "'"));
    }
  } else if (absl::Status s = WriteFile(public_key_path, *public_pem, 0644, /*exclusive=*/false);
             !s.ok()) {
    return s;
  }
  std::string id = KeyIdOf(key.get());
  return std::unique_ptr<CheckpointSigner>(new CheckpointSigner(std::move(key), std::move(id)));
}

absl::Status CheckpointSigner::Sign(Checkpoint& c) const {
  const std::string message = CheckpointMessage(c);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  size_t size = sizeof(sig);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &size, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return absl::InternalError("cannot sign an audit checkpoint");
  }
  c.key_id = key_id_;
  c.signature = HexEncode(std::string_view(reinterpret_cast<const char*>(sig), size));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CheckpointVerifier>> CheckpointVerifier::Load(
    const std::string& path) {
  if (!FileExists(path)) {
    return absl::NotFoundError(StrCat("audit public key '", path, "' not found"));
  }
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<PkeyPtr> key = ParsePublic(*pem, path);
  if (!key.ok()) return key.status();
  std::string id = KeyIdOf(key->get());
  return std::unique_ptr<CheckpointVerifier>(
      new CheckpointVerifier(std::move(*key), std::move(id)));
}

bool CheckpointVerifier::Verify(const Checkpoint& c) const {
  const std::string sig = HexDecode(c.signature);
  if (sig.size() != 64) return false;
  const std::string message = CheckpointMessage(c);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace basalt::audit
