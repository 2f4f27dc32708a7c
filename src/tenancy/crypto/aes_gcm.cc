#include "tenancy/crypto/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <climits>
#include <cstring>
#include <memory>
#include <utility>

#include "core/strings.h"

namespace basalt::crypto {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// Index 0, 1, 2 for 16, 24, 32-byte keys; -1 otherwise.
int KeyIndex(size_t key_size) {
  switch (key_size) {
    case 16:
      return 0;
    case 24:
      return 1;
    case 32:
      return 2;
    default:
      return -1;
  }
}

// The three AES-GCM implementations, fetched once per process. They live as
// long as the process (never freed) because thread-local contexts on other
// threads may still use them while static destructors run at exit.
const EVP_CIPHER* Cipher(int index) {
  static const EVP_CIPHER* const ciphers[3] = {
      EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-192-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
  };
  return ciphers[index];
}

// Each thread keeps one context per key size, bound to its cipher once.
// Binding a cipher again would free and reallocate the provider's state, so
// later calls pass only key and nonce (EVP_CipherInit_ex2 with a null cipher
// keeps the bound one and resets the operation).
EVP_CIPHER_CTX* ThreadContext(int index) {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CtxFree> contexts[3];
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree>& ctx = contexts[index];
  if (ctx == nullptr) {
    const EVP_CIPHER* cipher = Cipher(index);
    if (cipher == nullptr) return nullptr;
    std::unique_ptr<EVP_CIPHER_CTX, CtxFree> fresh(EVP_CIPHER_CTX_new());
    if (fresh == nullptr ||
        EVP_CipherInit_ex2(fresh.get(), cipher, nullptr, nullptr, 1, nullptr) != 1) {
      ERR_clear_error();
      return nullptr;
    }
    ctx = std::move(fresh);
  }
  return ctx.get();
}

// OpenSSL 3's GCM keeps the nonce in a 128-byte buffer (GCM_IV_MAX_SIZE).
constexpr size_t kMaxNonceSize = 128;

absl::Status CheckParams(std::string_view key, std::string_view nonce, size_t tag_size,
                         size_t data_size) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return absl::InvalidArgumentError(
        StrCat("AES-GCM key must be 16, 24 or 32 bytes, got ", key.size()));
  }
  if (nonce.empty() || nonce.size() > kMaxNonceSize) {
    return absl::InvalidArgumentError(
        StrCat("AES-GCM nonce must be 1 to ", kMaxNonceSize, " bytes, got ", nonce.size()));
  }
  if (tag_size < 12 || tag_size > AesGcm::kMaxTagSize) {
    return absl::InvalidArgumentError(StrCat("AES-GCM tag must be 12 to 16 bytes, got ", tag_size));
  }
  // EVP counts in int; GCM itself allows at most 2^36 - 32 bytes per message.
  if (data_size > static_cast<size_t>(INT_MAX) - 32) {
    return absl::InvalidArgumentError("AES-GCM message too long");
  }
  return absl::OkStatus();
}

// Readies the thread's context for one operation: nonce length, key, nonce.
absl::StatusOr<EVP_CIPHER_CTX*> Init(std::string_view key, std::string_view nonce, int enc) {
  EVP_CIPHER_CTX* ctx = ThreadContext(KeyIndex(key.size()));
  if (ctx == nullptr) return absl::InternalError("AES-GCM is not available from OpenSSL");
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* iv = reinterpret_cast<const unsigned char*>(nonce.data());
  // The nonce length must be set before the nonce itself.
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) !=
          1 ||
      EVP_CipherInit_ex2(ctx, nullptr, k, iv, enc, nullptr) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(StrCat("AES-GCM rejected a ", nonce.size(), "-byte nonce"));
  }
  return ctx;
}

// An EVP call failed: drop OpenSSL's queued errors for this thread (they would
// pile up otherwise) and report `what`.
absl::Status OpenSslError(std::string_view what) {
  ERR_clear_error();
  return absl::InternalError(ToAbsl(what));
}

absl::Status AddAad(EVP_CIPHER_CTX* ctx, std::string_view aad, bool encrypt) {
  if (aad.empty()) return absl::OkStatus();
  if (aad.size() > INT_MAX) return absl::InvalidArgumentError("AES-GCM associated data too long");
  int len = 0;
  const auto* a = reinterpret_cast<const unsigned char*>(aad.data());
  const int rc = encrypt ? EVP_EncryptUpdate(ctx, nullptr, &len, a, static_cast<int>(aad.size()))
                         : EVP_DecryptUpdate(ctx, nullptr, &len, a, static_cast<int>(aad.size()));
  if (rc != 1) return OpenSslError("AES-GCM: adding associated data failed");
  return absl::OkStatus();
}

absl::Status NotAuthentic() {
  ERR_clear_error();
  return absl::DataLossError("ciphertext does not authenticate");
}

}  // namespace

absl::Status AesGcm::SealTo(std::string_view key, std::string_view nonce, std::string_view aad,
                            std::string_view plaintext, size_t tag_size, char* out) {
  if (absl::Status s = CheckParams(key, nonce, tag_size, plaintext.size()); !s.ok()) return s;
  absl::StatusOr<EVP_CIPHER_CTX*> init = Init(key, nonce, 1);
  if (!init.ok()) return init.status();
  EVP_CIPHER_CTX* ctx = *init;
  if (absl::Status s = AddAad(ctx, aad, true); !s.ok()) return s;
  auto* o = reinterpret_cast<unsigned char*>(out);
  int len = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx, o, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1) {
    return OpenSslError("AES-GCM encryption failed");
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx, o + len, &final_len) != 1 ||
      static_cast<size_t>(len + final_len) != plaintext.size()) {
    return OpenSslError("AES-GCM encryption failed");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size),
                          o + plaintext.size()) != 1) {
    return OpenSslError("AES-GCM: reading the tag failed");
  }
  return absl::OkStatus();
}

absl::Status AesGcm::OpenTo(std::string_view key, std::string_view nonce, std::string_view aad,
                            std::string_view sealed, size_t tag_size, char* out) {
  if (absl::Status s = CheckParams(key, nonce, tag_size, sealed.size()); !s.ok()) return s;
  if (sealed.size() < tag_size) return NotAuthentic();
  const size_t text_size = sealed.size() - tag_size;
  absl::StatusOr<EVP_CIPHER_CTX*> init = Init(key, nonce, 0);
  if (!init.ok()) return init.status();
  EVP_CIPHER_CTX* ctx = *init;
  // EVP reads the expected tag through a non-const pointer but does not
  // modify it; copy it anyway so `sealed` can be read-only memory.
  unsigned char tag[kMaxTagSize];
  std::memcpy(tag, sealed.data() + text_size, tag_size);
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size), tag) != 1) {
    return OpenSslError("AES-GCM: setting the tag failed");
  }
  if (absl::Status s = AddAad(ctx, aad, false); !s.ok()) return s;
  auto* o = reinterpret_cast<unsigned char*>(out);
  int len = 0;
  if (text_size > 0 &&
      EVP_DecryptUpdate(ctx, o, &len, reinterpret_cast<const unsigned char*>(sealed.data()),
                        static_cast<int>(text_size)) != 1) {
    OPENSSL_cleanse(out, text_size);
    return NotAuthentic();
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx, o + len, &final_len) != 1) {
    // Unauthenticated plaintext must never reach the caller.
    if (text_size > 0) OPENSSL_cleanse(out, text_size);
    return NotAuthentic();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AesGcm::Seal(std::string_view key, std::string_view nonce,
                                         std::string_view aad, std::string_view plaintext,
                                         size_t tag_size) {
  if (absl::Status s = CheckParams(key, nonce, tag_size, plaintext.size()); !s.ok()) return s;
  std::string out(plaintext.size() + tag_size, '\0');
  if (absl::Status s = SealTo(key, nonce, aad, plaintext, tag_size, out.data()); !s.ok()) {
    return s;
  }
  return out;
}

absl::StatusOr<std::string> AesGcm::Open(std::string_view key, std::string_view nonce,
                                         std::string_view aad, std::string_view sealed,
                                         size_t tag_size) {
  if (absl::Status s = CheckParams(key, nonce, tag_size, sealed.size()); !s.ok()) return s;
  if (sealed.size() < tag_size) return NotAuthentic();
  std::string out(sealed.size() - tag_size, '\0');
  if (absl::Status s = OpenTo(key, nonce, aad, sealed, tag_size, out.data()); !s.ok()) return s;
  return out;
}

}  // namespace basalt::crypto
