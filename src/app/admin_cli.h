// Offline administration commands (run them with the server stopped; they
// open the data directory's files directly):
//   basalt audit verify [--tenant T] [--public-key FILE]
//       checks every hash chain and signed checkpoint of <data_dir>/audit.db;
//       prints the first bad entry; exit 0 clean, 1 tampered, 2 cannot check.
//   basalt keys rotate [--tenant T | --all] [--kek]
//       a new data-key version for one tenant or every tenant (old data stays
//       readable), and/or (--kek) a new key-encryption key: every data key is
//       rewrapped in one transaction and the key file is replaced.
#pragma once

#include <optional>
#include <string>

#include "core/config.h"

namespace basalt::app {

int RunAuditVerifyCommand(const ConfigSources& sources, std::optional<std::string> tenant,
                          std::string public_key);

struct KeysRotateOptions {
  std::string tenant;  // empty with all = false: only --kek
  bool all = false;
  bool kek = false;
};
int RunKeysRotateCommand(const ConfigSources& sources, const KeysRotateOptions& options);

}  // namespace basalt::app
