// Configuration: one `basalt.yaml`, then `BASALT_*` environment variables, then
// command-line overrides, each layer overriding the one before. Every key is
// declared once in a table (config.cc) with its type, default, bounds and
// documentation; the loaders, `basalt config check` and docs/CONFIG.md all read
// that table. An unknown key, a wrong type or an out-of-range value is an error
// that names the key and, for files, the file and line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "core/config_sections.h"

namespace basalt {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int64_t port = 8080;
  int64_t io_threads = 0;  // 0: one per core
  int64_t max_body_bytes = 10 * 1024 * 1024;
  int64_t max_header_bytes = 16 * 1024;
  int64_t read_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t write_timeout_ms = 30'000;
  int64_t request_timeout_ms = 300'000;
  int64_t max_connections = 10'000;
  int64_t shutdown_grace_ms = 10'000;
  bool access_log = true;
};

struct StoreConfig {
  std::string driver = "sqlite";
  int64_t blocking_threads = 4;
  int64_t max_pending = 4096;
  int64_t busy_timeout_ms = 5'000;
};

struct HttpClientConfig {
  bool verify_tls = true;
  std::string ca_file;  // empty: the system bundle
  int64_t connect_timeout_ms = 5'000;
  int64_t total_timeout_ms = 120'000;
  int64_t max_connections_per_host = 64;
  int64_t idle_timeout_ms = 30'000;
};

struct RouterConfig {
  int64_t max_attempts = 2;          // attempts per target before falling back
  int64_t backoff_base_ms = 100;
  int64_t backoff_cap_ms = 2'000;
  int64_t attempt_timeout_ms = 60'000;
  int64_t breaker_failures = 5;      // consecutive failures that open a circuit
  int64_t breaker_cooldown_ms = 30'000;
};

// The async pattern: queue, workers, webhooks (docs/ASYNC.md).
struct AsyncConfig {
  int64_t workers = 32;                 // concurrent jobs in this process; 0: none
  int64_t model_concurrency = 32;       // concurrent jobs per model
  int64_t max_attempts = 3;
  int64_t visibility_timeout_ms = 30'000;
  int64_t job_timeout_ms = 300'000;     // one model call
  int64_t retry_backoff_base_ms = 1'000;
  int64_t retry_backoff_cap_ms = 60'000;
  int64_t webhook_workers = 8;
  int64_t webhook_timeout_ms = 10'000;
  int64_t webhook_backoff_base_ms = 1'000;
  int64_t webhook_backoff_cap_ms = 60'000;
  int64_t webhook_max_attempts = 8;
  int64_t webhook_max_age_seconds = 3'600;
  std::string callback_secret;
  int64_t idempotency_hours = 24;
  int64_t max_batch_records = 50'000;
  int64_t max_pending_writes = 65'536;
  int64_t poll_interval_ms = 200;       // how often other processes' work is looked for
};

// The multi-tenancy pattern (docs/TENANCY.md).
struct TenancyConfig {
  bool encryption = true;        // encrypt content at rest with per-tenant data keys
  std::string kek_file;          // empty: <data_dir>/keys/kek.key, generated when missing
  std::string kek;               // the key-encryption key itself (BASALT_TENANCY_KEK); wins over the file
  int64_t max_encryptions_per_key = int64_t{1} << 30;
  std::string audit_key_file;    // empty: <data_dir>/keys/audit-signing.pem
  int64_t usage_tenant_labels = 50;
  int64_t audit_queue = 65'536;
};

// The RAG pattern (docs/RAG.md).
struct RagConfig {
  std::vector<std::string> allowed_directories;  // roots LOCAL_DIRECTORY sources may read
  int64_t max_document_bytes = 64ll << 20;
  int64_t max_pages = 1000;
  int64_t max_extract_ms = 120'000;
  bool ocr = true;
  int64_t ocr_dpi = 300;
  int64_t workers = 2;                 // ingestion jobs at a time in this process
  std::string embedding_model = "builtin-embed";
  std::string generation_model = "builtin-chat";  // "": the tenant's default model
  int64_t save_interval_ms = 10'000;   // how often changed vector indexes are saved
};

// A section of basalt.yaml read as a JSON document and validated by the part
// that owns it (tenants, auth.roles, auth.jwt, models.prices, regions).
struct StructuredSection {
  std::string key;
  std::string where;  // "basalt.yaml:12: " of its first line, for error messages
  nlohmann::json value;
};

struct Config {
  ServerConfig server;
  StoreConfig store;
  HttpClientConfig http_client;
  std::string data_dir = "./var";
  std::string log_level = "info";
  std::vector<std::string> api_keys;    // auth.api_keys
  std::vector<std::string> sigv4_keys;  // auth.sigv4_keys: "ACCESS_KEY_ID:SECRET"
  std::vector<std::string> admin_keys;  // auth.admin_keys: "[TENANT:]KEY", every permission
  std::string region = "local";         // region: where this node and its data directory are
  TenancyConfig tenancy;
  RagConfig rag;
  // File-only sections, by key. Absent keys are absent from the map.
  std::map<std::string, StructuredSection> structured;
  const nlohmann::json& Section(std::string_view key) const;
  RouterConfig router;
  AsyncConfig async;
  std::string default_provider;  // models.default_provider (empty: unknown names are 404)
  std::vector<ProviderConfig> providers;        // providers (file only)
  std::vector<ModelAliasConfig> model_aliases;  // models.aliases (file only)

  // Whether any authentication is configured (API keys or SigV4 keys).
  bool AuthConfigured() const {
    return !api_keys.empty() || !sigv4_keys.empty() || !admin_keys.empty() ||
           structured.contains("auth.jwt");
  }
};

struct ConfigSources {
  std::string file;                                         // empty: no file
  std::map<std::string, std::string> env;                   // BASALT_* variables
  std::vector<std::pair<std::string, std::string>> overrides;  // key=value from flags
};

// Every source applied in order; the first error found in any layer, or all the
// file's errors joined when the file is wrong.
absl::StatusOr<Config> LoadConfig(const ConfigSources& sources);

// Every problem in a file, one message each ("basalt.yaml:3: server.prot: unknown key").
// Empty when the file is valid.
std::vector<std::string> CheckConfigFile(const std::string& path);

// The BASALT_* variables of this process's environment.
std::map<std::string, std::string> BasaltEnvironment();

// Tenant names: 1-64 of [A-Za-z0-9_.-].
bool ValidTenantName(std::string_view name);

struct ConfigKeyDoc {
  std::string key;
  std::string type;
  std::string default_value;
  std::string env;
  std::string description;
};
std::vector<ConfigKeyDoc> DescribeConfigKeys();

}  // namespace basalt
