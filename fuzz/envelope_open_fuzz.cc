// Envelopes as read back from storage: any bytes, raw or as base64 text, go
// through ParseEnvelope and AES-GCM opening under a fixed data key (so the
// seed corpus can hold valid envelopes), and through KeyManager::Decrypt and
// NeedsReencrypt of a real KeyManager. Crashes, sanitizer reports and these
// invariants are findings:
//  - an envelope that opens under the fixed key re-seals to the same bytes;
//  - KeyManager::Decrypt never accepts bytes it did not make (its data key is
//    random per run, so success would be a forgery).
//
// Input: byte 0 selects the mode (bit 0: the rest is base64 text); the rest
// is the envelope.
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "tenancy/crypto/aes_gcm.h"
#include "tenancy/crypto/envelope.h"
#include "tenancy/crypto/key_manager.h"

namespace {

using basalt::crypto::FieldRef;

const FieldRef kRef{"tenant-fuzz", "invocations", "row-1", "input"};
// The fixed data key the seed corpus was made with: 32 bytes of 0x42.
const std::string kFixedKey(32, '\x42');

std::string* temp_dir = nullptr;

void RemoveTempDir() {
  std::error_code ignored;
  if (temp_dir != nullptr) std::filesystem::remove_all(*temp_dir, ignored);
}

basalt::crypto::KeyManager* Manager() {
  static basalt::crypto::KeyManager* manager = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "envelope_fuzz.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    temp_dir = new std::string(pattern);
    std::atexit(RemoveTempDir);
    basalt::crypto::KeyManagerOptions options;
    options.keys_db_path = pattern + "/keys.db";
    options.kek_env_value = std::string(64, 'a');
    auto opened = basalt::crypto::KeyManager::Open(options);
    if (!opened.ok() || !(*opened)->EnsureTenant(kRef.tenant).ok()) std::abort();
    return opened->release();
  }();
  return manager;
}

void CheckFixedKey(std::string_view envelope) {
  absl::StatusOr<basalt::crypto::EnvelopeView> view = basalt::crypto::ParseEnvelope(envelope);
  if (!view.ok()) return;
  absl::StatusOr<basalt::crypto::Aad> aad = basalt::crypto::BuildAad(kRef, view->key_version);
  if (!aad.ok()) std::abort();  // The fixed reference is small.
  const std::string_view aad_bytes(aad->data(), aad->size());
  absl::StatusOr<std::string> plain =
      basalt::crypto::AesGcm::Open(kFixedKey, view->nonce, aad_bytes, view->sealed);
  if (!plain.ok()) return;
  absl::StatusOr<std::string> again =
      basalt::crypto::AesGcm::Seal(kFixedKey, view->nonce, aad_bytes, *plain);
  if (!again.ok() || *again != view->sealed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool base64 = (data[0] & 1) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string decoded;
  if (base64) {
    absl::StatusOr<std::string> bytes = basalt::crypto::EnvelopeFromBase64(rest);
    if (!bytes.ok()) return 0;
    decoded = *std::move(bytes);
    rest = decoded;
  }
  CheckFixedKey(rest);
  basalt::crypto::KeyManager* manager = Manager();
  if (manager->Decrypt(kRef, rest).ok()) std::abort();
  manager->NeedsReencrypt(rest, kRef.tenant);
  return 0;
}
