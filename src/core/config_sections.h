// Structured configuration sections: lists of maps that the flat key table in
// config.cc cannot express — the model providers and the model aliases. Parsed
// only from the YAML file; every error names the entry, the field and the line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <yaml-cpp/yaml.h>

namespace basalt {

struct ProviderConfig {
  std::string name;  // how aliases and "name/model" refer to it
  std::string type;  // openai | anthropic | bedrock | builtin
  std::string base_url;
  std::string api_key;      // or api_key_env
  std::string api_key_env;  // name of an environment variable holding the key
  // bedrock
  std::string region;
  std::string endpoint;  // override, e.g. a VPC endpoint or a local fake
  std::string profile;   // shared-credentials profile
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // anthropic
  std::string anthropic_version = "2023-06-01";
  int64_t max_concurrency = 64;
  int64_t timeout_ms = 60'000;
};

struct ModelTargetConfig {
  std::string provider;
  std::string model;
};

struct ModelAliasConfig {
  std::string name;
  std::vector<ModelTargetConfig> targets;
};

// Parse `providers:` (a sequence of maps). Appends "file:line: providers[i].field: problem".
// A YAML node as JSON: mappings, sequences, and scalars typed the way YAML 1.2
// core schema reads them (quoted scalars stay strings).
nlohmann::json YamlToJson(const YAML::Node& node);

std::vector<ProviderConfig> ParseProviders(const YAML::Node& node, const std::string& file,
                                           std::vector<std::string>* errors);
// Parse `models.aliases:` (a sequence of maps with name and targets).
std::vector<ModelAliasConfig> ParseModelAliases(const YAML::Node& node, const std::string& file,
                                                std::vector<std::string>* errors);

}  // namespace basalt
