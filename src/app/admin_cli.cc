#include "app/admin_cli.h"

#include <filesystem>
#include <iostream>

#include "app/tenancy_wiring.h"
#include "tenancy/audit/verify.h"
#include "tenancy/crypto/kek.h"

namespace basalt::app {

namespace fs = std::filesystem;

namespace {

std::optional<Config> Load(const ConfigSources& sources) {
  auto config = LoadConfig(sources);
  if (!config.ok()) {
    std::cerr << "basalt: configuration error: " << config.status().message() << "\n";
    return std::nullopt;
  }
  return *std::move(config);
}

}  // namespace

int RunAuditVerifyCommand(const ConfigSources& sources, std::optional<std::string> tenant,
                          std::string public_key) {
  auto config = Load(sources);
  if (!config) return 2;
  const TenancyPaths paths = PathsFor(*config);
  if (public_key.empty()) public_key = paths.audit_public_key;
  return audit::RunAuditVerify(paths.audit_db, public_key, std::move(tenant), std::cout);
}

int RunKeysRotateCommand(const ConfigSources& sources, const KeysRotateOptions& options) {
  auto config = Load(sources);
  if (!config) return 2;
  if (options.tenant.empty() && !options.all && !options.kek) {
    std::cerr << "basalt keys rotate: say what to rotate: --tenant T, --all or --kek\n";
    return 2;
  }
  const TenancyPaths paths = PathsFor(*config);
  crypto::KeyManagerOptions km;
  km.keys_db_path = paths.keys_db;
  km.kek_file = paths.kek_file;
  km.kek_env_value = config->tenancy.kek;
  km.create_kek_if_missing = false;
  km.max_encryptions_per_key = static_cast<uint64_t>(config->tenancy.max_encryptions_per_key);
  auto keys = crypto::KeyManager::Open(km);
  if (!keys.ok()) {
    std::cerr << "basalt keys rotate: " << keys.status().message() << "\n";
    return 2;
  }
  if (!options.tenant.empty()) {
    if (absl::Status s = (*keys)->RotateTenant(options.tenant); !s.ok()) {
      std::cerr << "basalt keys rotate: " << s.message() << "\n";
      return 1;
    }
    std::cout << "tenant " << options.tenant << ": data key version "
              << (*keys)->CurrentVersion(options.tenant) << "\n";
  }
  if (options.all) {
    if (absl::Status s = (*keys)->RotateAllTenants(); !s.ok()) {
      std::cerr << "basalt keys rotate: " << s.message() << "\n";
      return 1;
    }
    std::cout << "every tenant has a new data-key version\n";
  }
  if (options.kek) {
    if (!config->tenancy.kek.empty()) {
      std::cerr << "basalt keys rotate --kek: the KEK comes from BASALT_TENANCY_KEK, which this "
                   "command cannot replace; rotate it as docs/SECURITY.md describes\n";
      return 2;
    }
    auto fresh = crypto::Kek::Generate();
    if (!fresh.ok()) {
      std::cerr << "basalt keys rotate: " << fresh.status().message() << "\n";
      return 1;
    }
    // The new key reaches disk before any data key is wrapped with it, and
    // replaces the old file only after the rewrap committed.
    const std::string staged = paths.kek_file + ".new";
    std::error_code ec;
    fs::remove(staged, ec);
    if (absl::Status s = crypto::WriteKekFile(staged, *fresh); !s.ok()) {
      std::cerr << "basalt keys rotate: " << s.message() << "\n";
      return 1;
    }
    if (absl::Status s = (*keys)->RewrapAll(*fresh); !s.ok()) {
      fs::remove(staged, ec);
      std::cerr << "basalt keys rotate: " << s.message() << " (nothing changed)\n";
      return 1;
    }
    fs::rename(staged, paths.kek_file, ec);
    if (ec) {
      std::cerr << "basalt keys rotate: every data key is now wrapped by the key in " << staged
                << ", but it could not replace " << paths.kek_file << ": " << ec.message()
                << ". Move it there by hand before starting basalt.\n";
      return 1;
    }
    std::cout << "new key-encryption key " << fresh->id() << " in " << paths.kek_file
              << "; every data key rewrapped. Destroy every copy of the old key file.\n";
  }
  return 0;
}

}  // namespace basalt::app
