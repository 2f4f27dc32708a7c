// The model catalog: which upstream answers a client-facing model name.
//
//   models:
//     default_provider: builtin
//     aliases:
//       - name: fast
//         targets:
//           - {provider: openai, model: gpt-4o-mini}
//           - {provider: anthropic, model: claude-3-5-haiku-latest}
//
// A name resolves, in order:
//   1. an alias: its targets, tried in the order listed. An alias whose name
//      holds '*' is a pattern ("anthropic.claude-*", '*' matching any run):
//      exact names win over patterns, and patterns are tried in the order listed;
//   2. "provider/model" where `provider` is registered: that provider, with the
//      rest of the name as the upstream model id ("openai/gpt-4o" -> openai,
//      "gpt-4o"; "meta-llama/Llama-3-8B" is not direct unless a provider is
//      named "meta-llama");
//   3. the default provider, if configured, with the name unchanged;
//   4. otherwise kNotFound "model 'x' is not configured".
// Plain values; app/ parses the YAML into CatalogConfig. Thread-safe once built.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace basalt::models {

struct TargetConfig {
  std::string provider;  // a registered provider name
  std::string model;     // the upstream model id sent to that provider
};

struct AliasConfig {
  std::string name;                   // what clients send as `model`
  std::vector<TargetConfig> targets;  // tried in this order
};

struct CatalogConfig {
  std::vector<AliasConfig> aliases;
  std::string default_provider;  // empty: unlisted names are not routed

  // Every problem, each naming its entry, e.g.
  // "models.aliases[2].targets[0].provider: unknown provider 'foo'". Empty when
  // valid against the registered `providers`.
  std::vector<std::string> Problems(const std::vector<std::string>& providers) const;
  // The problems joined with "; " as kInvalidArgument, or OK.
  absl::Status Validate(const std::vector<std::string>& providers) const;
};

class Catalog {
 public:
  // Validates `config` against the registered `providers` (kInvalidArgument).
  static absl::StatusOr<Catalog> Create(CatalogConfig config,
                                        const std::vector<std::string>& providers);

  // The targets for `model`, by the rules above. kNotFound when nothing matches.
  absl::StatusOr<std::vector<TargetConfig>> Resolve(std::string_view model) const;
  // The alias named `model` exactly, else the first pattern alias matching
  // it, or nullptr.
  const AliasConfig* FindAlias(std::string_view model) const;
  // The first pattern alias (a name with '*') matching `model`, or nullptr.
  const AliasConfig* FindPattern(std::string_view model) const;
  // Steps 2-4 above only, for a name that is not an alias.
  absl::StatusOr<TargetConfig> ResolveUnlisted(std::string_view model) const;

  const CatalogConfig& config() const { return config_; }

 private:
  Catalog(CatalogConfig config, const std::vector<std::string>& providers);

  CatalogConfig config_;
  absl::flat_hash_map<std::string, size_t> alias_index_;  // name -> config_.aliases index
  std::vector<size_t> patterns_;                          // aliases whose name holds '*' 
  absl::flat_hash_set<std::string> providers_;
};

}  // namespace basalt::models
