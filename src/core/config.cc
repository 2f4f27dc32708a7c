#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <functional>
#include <variant>

#include "absl/strings/ascii.h"
#include "core/strings.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace basalt {
namespace {

using IntRef = int64_t& (*)(Config&);
using StrRef = std::string& (*)(Config&);
using BoolRef = bool& (*)(Config&);
using ListRef = std::vector<std::string>& (*)(Config&);

struct IntKey { IntRef ref; int64_t min; int64_t max; };
struct StrKey { StrRef ref; std::vector<std::string> allowed; };
struct BoolKey { BoolRef ref; };
struct ListKey { ListRef ref; };

struct KeyDef {
  std::string key;
  std::variant<IntKey, StrKey, BoolKey, ListKey> kind;
  std::string description;
};

const std::vector<KeyDef>& Keys() {
  static const std::vector<KeyDef> keys = {
      {"server.host", StrKey{[](Config& c) -> std::string& { return c.server.host; }, {}},
       "Address to listen on. A non-loopback address requires auth to be configured."},
      {"server.port", IntKey{[](Config& c) -> int64_t& { return c.server.port; }, 0, 65535},
       "TCP port; 0 picks a free port (printed at start-up)."},
      {"server.io_threads", IntKey{[](Config& c) -> int64_t& { return c.server.io_threads; }, 0, 256},
       "Threads running the network event loops; 0 means one per core."},
      {"server.max_body_bytes",
       IntKey{[](Config& c) -> int64_t& { return c.server.max_body_bytes; }, 1, int64_t{1} << 32},
       "Largest request body accepted; larger bodies get 413."},
      {"server.max_header_bytes",
       IntKey{[](Config& c) -> int64_t& { return c.server.max_header_bytes; }, 1024, 1 << 20},
       "Largest request line plus headers accepted; larger get 431."},
      {"server.read_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.server.read_timeout_ms; }, 10, 3'600'000},
       "Time allowed to receive a whole request once its first byte arrived (drops slow-loris clients)."},
      {"server.idle_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.server.idle_timeout_ms; }, 10, 3'600'000},
       "Time a keep-alive connection may wait for its next request."},
      {"server.write_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.server.write_timeout_ms; }, 10, 3'600'000},
       "Time allowed for one response write; a client that stops reading is dropped."},
      {"server.request_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.server.request_timeout_ms; }, 10, 86'400'000},
       "Deadline given to each request's context; upstream calls inherit it."},
      {"server.max_connections",
       IntKey{[](Config& c) -> int64_t& { return c.server.max_connections; }, 1, 1'000'000},
       "Open connections allowed; further connections get 503 and are closed."},
      {"server.shutdown_grace_ms",
       IntKey{[](Config& c) -> int64_t& { return c.server.shutdown_grace_ms; }, 0, 3'600'000},
       "On SIGTERM/SIGINT, time in-flight requests get to finish before connections close."},
      {"server.access_log", BoolKey{[](Config& c) -> bool& { return c.server.access_log; }},
       "Write one JSON access-log line per request."},
      {"data_dir", StrKey{[](Config& c) -> std::string& { return c.data_dir; }, {}},
       "Directory for the SQLite database and other state; created when missing."},
      {"log.level", StrKey{[](Config& c) -> std::string& { return c.log_level; },
                           {"debug", "info", "warn", "error"}},
       "Lowest level of log line written."},
      {"auth.api_keys", ListKey{[](Config& c) -> std::vector<std::string>& { return c.api_keys; }},
       "Static API keys accepted as `Authorization: Bearer KEY` or `x-api-key: KEY`; `TENANT:KEY` binds a key to a tenant (default `default`)."},
      {"auth.admin_keys", ListKey{[](Config& c) -> std::vector<std::string>& { return c.admin_keys; }},
       "Administrator API keys (`[TENANT:]KEY`): every permission, including admin:tenants (/v1/admin) and reads across tenants."},
      {"region", StrKey{[](Config& c) -> std::string& { return c.region; }, {}},
       "Region of this node and its data directory; the builtin provider and providers without their own `region` are tagged with it (residency)."},
      {"rag.allowed_directories",
       ListKey{[](Config& c) -> std::vector<std::string>& { return c.rag.allowed_directories; }},
       "directories LOCAL_DIRECTORY data sources may read (and their subdirectories)"},
      {"rag.max_document_bytes",
       IntKey{[](Config& c) -> int64_t& { return c.rag.max_document_bytes; }, 1, int64_t{1} << 32},
       "largest document accepted for ingestion, in bytes"},
      {"rag.max_pages", IntKey{[](Config& c) -> int64_t& { return c.rag.max_pages; }, 1, 100'000},
       "most pages extracted from one document"},
      {"rag.max_extract_ms",
       IntKey{[](Config& c) -> int64_t& { return c.rag.max_extract_ms; }, 100, 3'600'000},
       "longest extraction of one document (OCR included)"},
      {"rag.ocr", BoolKey{[](Config& c) -> bool& { return c.rag.ocr; }},
       "recognise text on pages and images that have no text layer (tesseract)"},
      {"rag.ocr_dpi", IntKey{[](Config& c) -> int64_t& { return c.rag.ocr_dpi; }, 72, 600},
       "resolution pages are rendered at for OCR"},
      {"rag.workers", IntKey{[](Config& c) -> int64_t& { return c.rag.workers; }, 0, 64},
       "ingestion jobs run at a time in this process; 0: none"},
      {"rag.embedding_model", StrKey{[](Config& c) -> std::string& { return c.rag.embedding_model; }, {}},
       "embedding model of knowledge bases that name none"},
      {"rag.generation_model",
       StrKey{[](Config& c) -> std::string& { return c.rag.generation_model; }, {}},
       "model that answers questions for knowledge bases and requests that name none; empty: the tenant's default model"},
      {"rag.save_interval_ms",
       IntKey{[](Config& c) -> int64_t& { return c.rag.save_interval_ms; }, 100, 3'600'000},
       "how often changed vector indexes are saved to disk"},
      {"tenancy.encryption", BoolKey{[](Config& c) -> bool& { return c.tenancy.encryption; }},
       "Encrypt prompts, responses, event bodies and records at rest with per-tenant AES-256-GCM data keys."},
      {"tenancy.kek_file", StrKey{[](Config& c) -> std::string& { return c.tenancy.kek_file; }, {}},
       "File holding the key-encryption key (32 bytes as hex or base64); empty: <data_dir>/keys/kek.key, generated with mode 0600 when missing."},
      {"tenancy.kek", StrKey{[](Config& c) -> std::string& { return c.tenancy.kek; }, {}},
       "The key-encryption key itself (set it through BASALT_TENANCY_KEK, not in a file); wins over tenancy.kek_file."},
      {"tenancy.max_encryptions_per_key",
       IntKey{[](Config& c) -> int64_t& { return c.tenancy.max_encryptions_per_key; }, 1024, int64_t{1} << 32},
       "Encryptions under one data-key version before a new version is made (random 96-bit nonces: stay well below 2^32)."},
      {"tenancy.audit_key_file", StrKey{[](Config& c) -> std::string& { return c.tenancy.audit_key_file; }, {}},
       "Ed25519 private key (PEM) that signs audit checkpoints; empty: <data_dir>/keys/audit-signing.pem, generated when missing. Keep it on another volume in production."},
      {"tenancy.usage_tenant_labels",
       IntKey{[](Config& c) -> int64_t& { return c.tenancy.usage_tenant_labels; }, 1, 10'000},
       "Tenants given their own label in usage metrics (the top ones by usage); the rest are `other`."},
      {"tenancy.audit_queue",
       IntKey{[](Config& c) -> int64_t& { return c.tenancy.audit_queue; }, 16, 10'000'000},
       "Audit entries waiting to be written; past it entries are dropped and counted."},
      {"auth.sigv4_keys", ListKey{[](Config& c) -> std::vector<std::string>& { return c.sigv4_keys; }},
       "AWS access keys accepted on Bedrock-compatible routes, each `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:TENANT]`."},
      {"models.default_provider",
       StrKey{[](Config& c) -> std::string& { return c.default_provider; }, {}},
       "Provider that serves model names matching no alias (empty: unknown names are 404)."},
      {"router.max_attempts", IntKey{[](Config& c) -> int64_t& { return c.router.max_attempts; }, 1, 10},
       "Attempts per upstream target before falling back to the next one."},
      {"router.backoff_base_ms",
       IntKey{[](Config& c) -> int64_t& { return c.router.backoff_base_ms; }, 1, 60'000},
       "Base of the exponential backoff (full jitter) between attempts."},
      {"router.backoff_cap_ms",
       IntKey{[](Config& c) -> int64_t& { return c.router.backoff_cap_ms; }, 1, 600'000},
       "Longest backoff between attempts (a larger Retry-After still wins, within the deadline)."},
      {"router.attempt_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.router.attempt_timeout_ms; }, 1, 3'600'000},
       "Time one upstream attempt may take before it is cancelled and retried."},
      {"router.breaker_failures",
       IntKey{[](Config& c) -> int64_t& { return c.router.breaker_failures; }, 1, 1'000},
       "Consecutive retryable failures that open an upstream's circuit."},
      {"router.breaker_cooldown_ms",
       IntKey{[](Config& c) -> int64_t& { return c.router.breaker_cooldown_ms; }, 1, 3'600'000},
       "Time a circuit stays open before half-open probes are let through."},
      {"store.driver", StrKey{[](Config& c) -> std::string& { return c.store.driver; }, {"sqlite"}},
       "Store adapter."},
      {"store.blocking_threads",
       IntKey{[](Config& c) -> int64_t& { return c.store.blocking_threads; }, 1, 256},
       "Threads of the blocking pool that runs store calls off the io threads."},
      {"store.max_pending",
       IntKey{[](Config& c) -> int64_t& { return c.store.max_pending; }, 1, 1'000'000},
       "Blocking-pool calls queued or running at once; beyond it requests get 429."},
      {"store.busy_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.store.busy_timeout_ms; }, 0, 600'000},
       "SQLite busy timeout."},
      {"async.workers", IntKey{[](Config& c) -> int64_t& { return c.async.workers; }, 0, 4096},
       "Async jobs this process runs at once; 0 runs no workers (submissions still queue)."},
      {"async.model_concurrency",
       IntKey{[](Config& c) -> int64_t& { return c.async.model_concurrency; }, 1, 4096},
       "Async jobs of one model running at once in this process."},
      {"async.max_attempts", IntKey{[](Config& c) -> int64_t& { return c.async.max_attempts; }, 1, 100},
       "Attempts of an async job before it fails and goes to the dead-letter queue."},
      {"async.visibility_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.async.visibility_timeout_ms; }, 100, 3'600'000},
       "Lease on a job; renewed every third of it while the model call runs."},
      {"async.job_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.async.job_timeout_ms; }, 100, 86'400'000},
       "Time one attempt of an async job may take."},
      {"async.retry_backoff_base_ms",
       IntKey{[](Config& c) -> int64_t& { return c.async.retry_backoff_base_ms; }, 0, 3'600'000},
       "Base of the exponential backoff (full jitter) before a failed job runs again."},
      {"async.retry_backoff_cap_ms",
       IntKey{[](Config& c) -> int64_t& { return c.async.retry_backoff_cap_ms; }, 0, 86'400'000},
       "Longest backoff before a failed job runs again."},
      {"async.webhook_workers",
       IntKey{[](Config& c) -> int64_t& { return c.async.webhook_workers; }, 0, 4096},
       "Webhook deliveries this process makes at once; 0 makes none."},
      {"async.webhook_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.async.webhook_timeout_ms; }, 100, 600'000},
       "Time a webhook receiver has to answer."},
      {"async.webhook_backoff_base_ms",
       IntKey{[](Config& c) -> int64_t& { return c.async.webhook_backoff_base_ms; }, 0, 3'600'000},
       "Base of the exponential backoff (full jitter) between webhook attempts."},
      {"async.webhook_backoff_cap_ms",
       IntKey{[](Config& c) -> int64_t& { return c.async.webhook_backoff_cap_ms; }, 0, 86'400'000},
       "Longest backoff between webhook attempts."},
      {"async.webhook_max_attempts",
       IntKey{[](Config& c) -> int64_t& { return c.async.webhook_max_attempts; }, 1, 100},
       "Default attempts of a webhook delivery before it is dead-lettered."},
      {"async.webhook_max_age_seconds",
       IntKey{[](Config& c) -> int64_t& { return c.async.webhook_max_age_seconds; }, 1, 604'800},
       "Default age after which a failing webhook delivery is dead-lettered."},
      {"async.callback_secret",
       StrKey{[](Config& c) -> std::string& { return c.async.callback_secret; }, {}},
       "HMAC secret for callback_url deliveries without their own callback_secret (empty: unsigned)."},
      {"async.idempotency_hours",
       IntKey{[](Config& c) -> int64_t& { return c.async.idempotency_hours; }, 1, 720},
       "How long a client_token returns the same request."},
      {"async.max_batch_records",
       IntKey{[](Config& c) -> int64_t& { return c.async.max_batch_records; }, 1, 1'000'000},
       "Most records in one batch."},
      {"async.max_pending_writes",
       IntKey{[](Config& c) -> int64_t& { return c.async.max_pending_writes; }, 1, 10'000'000},
       "Queue writes waiting for their commit; beyond it submissions get 429."},
      {"async.poll_interval_ms",
       IntKey{[](Config& c) -> int64_t& { return c.async.poll_interval_ms; }, 10, 60'000},
       "How often workers and the dispatcher look for work written by other processes."},
      {"http_client.verify_tls",
       BoolKey{[](Config& c) -> bool& { return c.http_client.verify_tls; }},
       "Verify upstream TLS certificates and host names."},
      {"http_client.ca_file", StrKey{[](Config& c) -> std::string& { return c.http_client.ca_file; }, {}},
       "PEM bundle of trusted CAs; empty uses the system bundle."},
      {"http_client.connect_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.http_client.connect_timeout_ms; }, 1, 600'000},
       "Time allowed to resolve, connect and complete the TLS handshake."},
      {"http_client.total_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.http_client.total_timeout_ms; }, 1, 86'400'000},
       "Time allowed for a whole upstream exchange (also capped by the request deadline)."},
      {"http_client.max_connections_per_host",
       IntKey{[](Config& c) -> int64_t& { return c.http_client.max_connections_per_host; }, 1, 100'000},
       "Pooled connections per upstream host; callers beyond it wait."},
      {"http_client.idle_timeout_ms",
       IntKey{[](Config& c) -> int64_t& { return c.http_client.idle_timeout_ms; }, 1, 3'600'000},
       "How long an idle pooled connection is kept."},
  };
  return keys;
}

const KeyDef* FindKey(std::string_view key) {
  for (const KeyDef& k : Keys()) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

std::string EnvName(std::string_view key) {
  std::string out = "BASALT_";
  for (char c : key) out += (c == '.') ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

bool ParseBool(std::string_view text, bool* out) {
  std::string t = absl::AsciiStrToLower(std::string(text));
  if (t == "true" || t == "1" || t == "yes" || t == "on") *out = true;
  else if (t == "false" || t == "0" || t == "no" || t == "off") *out = false;
  else return false;
  return true;
}

// Sets one key from its text form (env vars and flags; YAML scalars too).
absl::Status SetFromText(Config& config, const KeyDef& def, std::string_view text) {
  return std::visit(
      [&](const auto& kind) -> absl::Status {
        using K = std::decay_t<decltype(kind)>;
        if constexpr (std::is_same_v<K, IntKey>) {
          int64_t v = 0;
          auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (ec != std::errc() || p != text.data() + text.size()) {
            return absl::InvalidArgumentError(StrCat(def.key, ": expected an integer, got '", text, "'"));
          }
          if (v < kind.min || v > kind.max) {
            return absl::InvalidArgumentError(StrCat(def.key, ": ", v, " is out of range [",
                                                           kind.min, ", ", kind.max, "]"));
          }
          kind.ref(config) = v;
        } else if constexpr (std::is_same_v<K, StrKey>) {
          if (!kind.allowed.empty() &&
              std::find(kind.allowed.begin(), kind.allowed.end(), text) == kind.allowed.end()) {
            return absl::InvalidArgumentError(StrCat(def.key, ": '", text, "' is not one of ",
                                                           absl::StrJoin(kind.allowed, ", ")));
          }
          kind.ref(config) = std::string(text);
        } else if constexpr (std::is_same_v<K, BoolKey>) {
          bool v = false;
          if (!ParseBool(text, &v)) {
            return absl::InvalidArgumentError(StrCat(def.key, ": expected true or false, got '", text, "'"));
          }
          kind.ref(config) = v;
        } else {
          std::vector<std::string> items;
          for (std::string_view part : Split(text, ',')) {
            absl::string_view trimmed = absl::StripAsciiWhitespace(ToAbsl(part));
            if (!trimmed.empty()) items.emplace_back(trimmed);
          }
          kind.ref(config) = std::move(items);
        }
        return absl::OkStatus();
      },
      def.kind);
}

absl::Status SetFromYaml(Config& config, const KeyDef& def, const YAML::Node& node) {
  if (std::holds_alternative<ListKey>(def.kind)) {
    if (!node.IsSequence()) return absl::InvalidArgumentError(StrCat(def.key, ": expected a list"));
    std::vector<std::string> items;
    for (const auto& item : node) {
      if (!item.IsScalar()) return absl::InvalidArgumentError(StrCat(def.key, ": list items must be strings"));
      items.push_back(item.Scalar());
    }
    std::get<ListKey>(def.kind).ref(config) = std::move(items);
    return absl::OkStatus();
  }
  if (!node.IsScalar()) {
    return absl::InvalidArgumentError(StrCat(def.key, ": expected a single value"));
  }
  return SetFromText(config, def, node.Scalar());
}

// Sections read whole as JSON and validated by their owners (docs/CONFIG.md).
const std::vector<std::string>& StructuredKeys() {
  static const std::vector<std::string> keys = {"tenants", "auth.roles", "auth.jwt",
                                                "models.prices", "regions"};
  return keys;
}

bool IsStructuredKey(const std::string& key) {
  for (const std::string& k : StructuredKeys()) {
    if (k == key) return true;
  }
  return false;
}

void WalkYaml(Config& config, const YAML::Node& node, const std::string& prefix,
              const std::string& file, std::vector<std::string>* errors) {
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    const std::string where = StrCat(file, ":", entry.first.Mark().line + 1, ": ");
    const KeyDef* def = FindKey(key);
    if (IsStructuredKey(key)) {
      config.structured[key] = StructuredSection{key, where, YamlToJson(entry.second)};
    } else if (key == "providers") {
      config.providers = ParseProviders(entry.second, file, errors);
    } else if (key == "models.aliases") {
      config.model_aliases = ParseModelAliases(entry.second, file, errors);
    } else if (def != nullptr) {
      absl::Status s = SetFromYaml(config, *def, entry.second);
      if (!s.ok()) errors->push_back(where + std::string(s.message()));
    } else if (entry.second.IsMap()) {
      bool is_section = false;
      for (const KeyDef& k : Keys()) is_section |= k.key.rfind(key + ".", 0) == 0;
      is_section |= key == "models" || key == "auth";
      if (is_section) {
        WalkYaml(config, entry.second, key, file, errors);
      } else {
        errors->push_back(where + key + ": unknown section");
      }
    } else {
      errors->push_back(where + key + ": unknown key");
    }
  }
}

std::vector<std::string> ApplyFile(Config& config, const std::string& path) {
  std::vector<std::string> errors;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    errors.push_back(path + ": cannot read the file");
    return errors;
  } catch (const YAML::Exception& e) {
    errors.push_back(StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
    return errors;
  }
  if (root.IsNull()) return errors;  // an empty file is valid: all defaults
  if (!root.IsMap()) {
    errors.push_back(path + ":1: the top level must be a mapping of keys");
    return errors;
  }
  try {
    WalkYaml(config, root, "", path, &errors);
  } catch (const YAML::Exception& e) {
    errors.push_back(StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  return errors;
}

}  // namespace

bool ValidTenantName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

absl::Status Validate(const Config& c) {
  if (c.server.host.empty()) return absl::InvalidArgumentError("server.host: must not be empty");
  if (c.data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  for (const auto& entry : c.sigv4_keys) {
    const std::vector<std::string_view> parts = Split(entry, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty() ||
        (parts.size() == 3 && !ValidTenantName(parts[2]))) {
      return absl::InvalidArgumentError(
          "auth.sigv4_keys: every entry must be ACCESS_KEY_ID:SECRET_ACCESS_KEY or "
          "ACCESS_KEY_ID:SECRET_ACCESS_KEY:TENANT (tenant: 1-64 of A-Z a-z 0-9 _ . -)");
    }
  }
  auto known_provider = [&](const std::string& name) {
    if (name == "builtin") return true;
    for (const auto& p : c.providers) {
      if (p.name == name) return true;
    }
    return false;
  };
  for (size_t i = 0; i < c.model_aliases.size(); ++i) {
    for (size_t t = 0; t < c.model_aliases[i].targets.size(); ++t) {
      const std::string& provider = c.model_aliases[i].targets[t].provider;
      if (!known_provider(provider)) {
        return absl::InvalidArgumentError(StrCat("models.aliases[", i, "].targets[", t,
                                                 "].provider: unknown provider '", provider, "'"));
      }
    }
  }
  if (!c.default_provider.empty() && !known_provider(c.default_provider)) {
    return absl::InvalidArgumentError(
        StrCat("models.default_provider: unknown provider '", c.default_provider, "'"));
  }
  for (const auto& entry : c.admin_keys) {
    const auto colon = entry.find(':');
    const std::string key = colon == std::string::npos ? entry : entry.substr(colon + 1);
    if ((colon != std::string::npos && !ValidTenantName(entry.substr(0, colon))) ||
        key.size() < 16) {
      return absl::InvalidArgumentError(
          "auth.admin_keys: every entry must be KEY or TENANT:KEY, the key at least 16 characters");
    }
  }
  for (const auto& entry : c.api_keys) {
    const auto colon = entry.find(':');
    const std::string key = colon == std::string::npos ? entry : entry.substr(colon + 1);
    if (colon != std::string::npos && !ValidTenantName(entry.substr(0, colon))) {
      return absl::InvalidArgumentError(
          "auth.api_keys: in TENANT:KEY the tenant must be 1-64 of A-Z a-z 0-9 _ . -");
    }
    if (key.size() < 16) {
      return absl::InvalidArgumentError("auth.api_keys: every key must be at least 16 characters");
    }
  }
  return absl::OkStatus();
}

}  // namespace

const nlohmann::json& Config::Section(std::string_view key) const {
  static const nlohmann::json kNull;
  auto it = structured.find(std::string(key));
  return it == structured.end() ? kNull : it->second.value;
}

absl::StatusOr<Config> LoadConfig(const ConfigSources& sources) {
  Config config;
  if (!sources.file.empty()) {
    auto errors = ApplyFile(config, sources.file);
    if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  }
  for (const auto& [name, value] : sources.env) {
    if (name == "BASALT_CONFIG") continue;  // names the file; handled by the caller
    if (name == "BASALT_SIMD") continue;    // caps the vector kernels (rag/index/vector_math.h)
    const KeyDef* def = nullptr;
    for (const KeyDef& k : Keys()) {
      if (EnvName(k.key) == name) def = &k;
    }
    if (def == nullptr) return absl::InvalidArgumentError(name + ": unknown environment variable");
    absl::Status s = SetFromText(config, *def, value);
    if (!s.ok()) return absl::InvalidArgumentError(StrCat(name, " (", s.message(), ")"));
  }
  for (const auto& [key, value] : sources.overrides) {
    const KeyDef* def = FindKey(key);
    if (def == nullptr) return absl::InvalidArgumentError(key + ": unknown key");
    absl::Status s = SetFromText(config, *def, value);
    if (!s.ok()) return s;
  }
  absl::Status s = Validate(config);
  if (!s.ok()) return s;
  return config;
}

std::vector<std::string> CheckConfigFile(const std::string& path) {
  Config config;
  auto errors = ApplyFile(config, path);
  if (errors.empty()) {
    absl::Status s = Validate(config);
    if (!s.ok()) errors.push_back(path + ": " + std::string(s.message()));
  }
  return errors;
}

std::map<std::string, std::string> BasaltEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("BASALT_", 0) != 0) continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

std::vector<ConfigKeyDoc> DescribeConfigKeys() {
  std::vector<ConfigKeyDoc> docs;
  Config defaults;
  for (const KeyDef& def : Keys()) {
    ConfigKeyDoc doc{def.key, "", "", EnvName(def.key), def.description};
    std::visit(
        [&](const auto& kind) {
          using K = std::decay_t<decltype(kind)>;
          if constexpr (std::is_same_v<K, IntKey>) {
            doc.type = "integer";
            doc.default_value = std::to_string(kind.ref(defaults));
          } else if constexpr (std::is_same_v<K, StrKey>) {
            doc.type = kind.allowed.empty() ? "string" : "one of " + absl::StrJoin(kind.allowed, ", ");
            doc.default_value = kind.ref(defaults).empty() ? "(empty)" : kind.ref(defaults);
          } else if constexpr (std::is_same_v<K, BoolKey>) {
            doc.type = "bool";
            doc.default_value = kind.ref(defaults) ? "true" : "false";
          } else {
            doc.type = "list of strings";
            doc.default_value = "[]";
          }
        },
        def.kind);
    docs.push_back(std::move(doc));
  }
  return docs;
}

}  // namespace basalt
