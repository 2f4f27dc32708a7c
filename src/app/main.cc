// The basalt command line: serve, worker, version, config check, config keys,
// audit verify, keys rotate.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "app/admin_cli.h"
#include "app/serve.h"
#include "app/tenancy_wiring.h"
#include "core/config.h"

namespace {

int ConfigCheck(const std::string& path) {
  auto errors = basalt::CheckConfigFile(path);
  if (errors.empty()) {
    basalt::ConfigSources sources;
    sources.file = path;
    auto config = basalt::LoadConfig(sources);
    if (!config.ok()) {
      errors.push_back(path + ": " + std::string(config.status().message()));
    } else if (absl::Status s = basalt::app::ValidateTenancyConfig(*config); !s.ok()) {
      errors.push_back(path + ": " + std::string(s.message()));
    }
  }
  if (errors.empty()) {
    std::cout << path << ": ok\n";
    return 0;
  }
  for (const auto& e : errors) std::cerr << e << "\n";
  return 1;
}

int ConfigKeys() {
  std::cout << "| key | type | default | environment | description |\n|---|---|---|---|---|\n";
  for (const auto& k : basalt::DescribeConfigKeys()) {
    std::cout << "| `" << k.key << "` | " << k.type << " | `" << k.default_value << "` | `"
              << k.env << "` | " << k.description << " |\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"basalt: a self-hosted GenAI platform in one binary"};
  app.require_subcommand(1);

  auto* serve = app.add_subcommand("serve", "Run the server (embedded defaults: 127.0.0.1:8080, ./var)");
  auto* worker = app.add_subcommand(
      "worker",
      "Run async workers only, against the same data directory as `serve` (listens for "
      "/healthz and /metrics on a free port unless --port is given)");
  std::string config_file;
  std::string host, data_dir, log_level;
  int port = -1;
  std::vector<std::string> sets;
  auto* audit = app.add_subcommand("audit", "Work with the audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand(
      "verify", "Check every hash chain and signed checkpoint; exit 1 on any tampering");
  std::string audit_tenant, public_key;
  verify->add_option("--tenant", audit_tenant, "Check only this tenant's chain");
  verify->add_option("--public-key", public_key,
                     "Checkpoint public key (default: beside tenancy.audit_key_file)");
  auto* keys_cmd = app.add_subcommand("keys", "Manage encryption keys (server stopped)");
  keys_cmd->require_subcommand(1);
  auto* rotate = keys_cmd->add_subcommand(
      "rotate", "New data-key versions (--tenant T or --all) and/or a new key-encryption key (--kek)");
  basalt::app::KeysRotateOptions rotate_options;
  rotate->add_option("--tenant", rotate_options.tenant, "Rotate this tenant's data key");
  rotate->add_flag("--all", rotate_options.all, "Rotate every tenant's data key");
  rotate->add_flag("--kek", rotate_options.kek,
                   "Generate a new key-encryption key and rewrap every data key with it");
  for (CLI::App* cmd : {serve, worker, verify, rotate}) {
    cmd->add_option("-c,--config", config_file, "YAML configuration file (also BASALT_CONFIG)");
    cmd->add_option("--host", host, "Address to listen on (server.host)");
    cmd->add_option("--port", port, "Port to listen on, 0 for any free port (server.port)");
    cmd->add_option("--data-dir", data_dir, "Data directory (data_dir)");
    cmd->add_option("--log-level", log_level, "debug, info, warn or error (log.level)");
    cmd->add_option("--set", sets, "Override any key: --set server.max_body_bytes=1048576");
  }

  auto* version = app.add_subcommand("version", "Print the version");
  auto* config = app.add_subcommand("config", "Work with configuration files");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate a file; name every wrong key");
  std::string check_file;
  check->add_option("FILE", check_file, "The YAML file")->required();
  auto* keys = config->add_subcommand("keys", "Print every key with its default (Markdown)");

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    std::cout << "basalt " << BASALT_VERSION << "\n";
    return 0;
  }
  if (check->parsed()) return ConfigCheck(check_file);
  if (keys->parsed()) return ConfigKeys();
  if (serve->parsed() || worker->parsed() || verify->parsed() || rotate->parsed()) {
    basalt::ConfigSources sources;
    sources.env = basalt::BasaltEnvironment();
    sources.file = config_file;
    if (sources.file.empty() && sources.env.count("BASALT_CONFIG")) {
      sources.file = sources.env["BASALT_CONFIG"];
    }
    // A worker beside a server on the same machine must not fight for its port.
    if (worker->parsed() && !sources.env.count("BASALT_SERVER_PORT")) {
      sources.overrides.emplace_back("server.port", "0");
    }
    if (!host.empty()) sources.overrides.emplace_back("server.host", host);
    if (port >= 0) sources.overrides.emplace_back("server.port", std::to_string(port));
    if (!data_dir.empty()) sources.overrides.emplace_back("data_dir", data_dir);
    if (!log_level.empty()) sources.overrides.emplace_back("log.level", log_level);
    for (const auto& s : sets) {
      const auto eq = s.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "--set " << s << ": expected KEY=VALUE\n";
        return 2;
      }
      sources.overrides.emplace_back(s.substr(0, eq), s.substr(eq + 1));
    }
    if (verify->parsed()) {
      return basalt::app::RunAuditVerifyCommand(
          sources, audit_tenant.empty() ? std::nullopt : std::optional<std::string>(audit_tenant),
          public_key);
    }
    if (rotate->parsed()) return basalt::app::RunKeysRotateCommand(sources, rotate_options);
    return basalt::app::RunServe(sources, worker->parsed() ? basalt::app::AsyncRole::kWorker
                                                           : basalt::app::AsyncRole::kServe);
  }
  return 0;
}
