// ns per KeyManager::Encrypt / Decrypt of one field (1 KiB, 5 KiB (an async
// submission's JSON), 8 KiB), on one thread and on two, against the bare
// AES-256-GCM seal of the same bytes so the overhead of the envelope, AAD,
// nonce and key lookup shows.
//   build/<dir>/src/tenancy/crypto/crypto_bench
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "tenancy/crypto/aes_gcm.h"
#include "tenancy/crypto/key_manager.h"

namespace basalt::crypto {
namespace {

const FieldRef kRef{"tenant-bench", "invocations", "01HZX3Q8Y7B2N4M5K6J7H8G9F0", "input"};

// One manager for the whole run, in a temporary directory removed at exit.
KeyManager& Manager() {
  static KeyManager* manager = [] {
    static std::string dir =
        (std::filesystem::temp_directory_path() / "crypto_bench.XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    std::atexit([] { std::filesystem::remove_all(dir); });
    KeyManagerOptions options;
    options.keys_db_path = dir + "/keys.db";
    options.kek_file = dir + "/kek.key";
    auto km = KeyManager::Open(options);
    if (!km.ok() || !(*km)->EnsureTenant(kRef.tenant).ok()) std::abort();
    return km->release();
  }();
  return *manager;
}

void BM_Encrypt(benchmark::State& state) {
  KeyManager& km = Manager();
  const std::string plain(static_cast<size_t>(state.range(0)), 'j');
  for (auto _ : state) {
    absl::StatusOr<std::string> envelope = km.Encrypt(kRef, plain);
    benchmark::DoNotOptimize(envelope);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Decrypt(benchmark::State& state) {
  KeyManager& km = Manager();
  const std::string envelope =
      *km.Encrypt(kRef, std::string(static_cast<size_t>(state.range(0)), 'j'));
  for (auto _ : state) {
    absl::StatusOr<std::string> plain = km.Decrypt(kRef, envelope);
    benchmark::DoNotOptimize(plain);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_BareSeal(benchmark::State& state) {
  const std::string key(32, 'k');
  const std::string nonce(12, 'n');
  const std::string plain(static_cast<size_t>(state.range(0)), 'j');
  for (auto _ : state) {
    absl::StatusOr<std::string> sealed = AesGcm::Seal(key, nonce, "aad", plain);
    benchmark::DoNotOptimize(sealed);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_Encrypt)->Arg(1024)->Arg(5 * 1024)->Arg(8 * 1024)->ThreadRange(1, 2);
BENCHMARK(BM_Decrypt)->Arg(1024)->Arg(5 * 1024)->Arg(8 * 1024)->ThreadRange(1, 2);
BENCHMARK(BM_BareSeal)->Arg(1024)->Arg(5 * 1024)->Arg(8 * 1024);

}  // namespace
}  // namespace basalt::crypto

BENCHMARK_MAIN();
