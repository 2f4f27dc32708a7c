#include "core/config_sections.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>

#include "core/strings.h"

namespace basalt {
namespace {

const std::vector<std::string> kProviderTypes = {"openai", "anthropic", "bedrock", "builtin"};

std::string Where(const std::string& file, const YAML::Node& node) {
  return StrCat(file, ":", node.Mark().line + 1, ": ");
}

// Reads a map of scalar fields into setters; unknown fields are errors.
void ReadFields(const YAML::Node& entry, const std::string& path, const std::string& file,
                const std::map<std::string, std::function<std::string(const std::string&)>>& fields,
                std::vector<std::string>* errors) {
  if (!entry.IsMap()) {
    errors->push_back(Where(file, entry) + path + ": expected a mapping");
    return;
  }
  for (const auto& kv : entry) {
    const std::string key = kv.first.as<std::string>();
    auto it = fields.find(key);
    if (it == fields.end()) {
      errors->push_back(Where(file, kv.first) + path + "." + key + ": unknown field");
      continue;
    }
    if (!kv.second.IsScalar()) {
      errors->push_back(Where(file, kv.second) + path + "." + key + ": expected a single value");
      continue;
    }
    const std::string problem = it->second(kv.second.Scalar());
    if (!problem.empty()) errors->push_back(Where(file, kv.second) + path + "." + key + ": " + problem);
  }
}

std::function<std::string(const std::string&)> Str(std::string* out) {
  return [out](const std::string& v) {
    *out = v;
    return std::string();
  };
}

std::function<std::string(const std::string&)> Int(int64_t* out, int64_t min, int64_t max) {
  return [out, min, max](const std::string& v) -> std::string {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size()) return "expected an integer, got '" + v + "'";
    if (n < min || n > max) return StrCat(n, " is out of range [", min, ", ", max, "]");
    *out = n;
    return std::string();
  };
}

}  // namespace

nlohmann::json YamlToJson(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) out[kv.first.as<std::string>()] = YamlToJson(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(YamlToJson(item));
    return out;
  }
  if (!node.IsScalar()) return nullptr;
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  int64_t i = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (ec == std::errc() && p == text.data() + text.size()) return i;
  double d = 0;
  auto [pd, ecd] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ecd == std::errc() && pd == text.data() + text.size()) return d;
  return text;
}

std::vector<ProviderConfig> ParseProviders(const YAML::Node& node, const std::string& file,
                                           std::vector<std::string>* errors) {
  std::vector<ProviderConfig> out;
  if (!node.IsSequence()) {
    errors->push_back(Where(file, node) + "providers: expected a list of providers");
    return out;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = StrCat("providers[", i, "]");
    ProviderConfig p;
    ReadFields(node[i], path, file,
               {{"name", Str(&p.name)},
                {"type", Str(&p.type)},
                {"base_url", Str(&p.base_url)},
                {"api_key", Str(&p.api_key)},
                {"api_key_env", Str(&p.api_key_env)},
                {"region", Str(&p.region)},
                {"endpoint", Str(&p.endpoint)},
                {"profile", Str(&p.profile)},
                {"access_key_id", Str(&p.access_key_id)},
                {"secret_access_key", Str(&p.secret_access_key)},
                {"session_token", Str(&p.session_token)},
                {"anthropic_version", Str(&p.anthropic_version)},
                {"max_concurrency", Int(&p.max_concurrency, 1, 100'000)},
                {"timeout_ms", Int(&p.timeout_ms, 1, 3'600'000)}},
               errors);
    const std::string where = Where(file, node[i]);
    if (p.name.empty()) errors->push_back(where + path + ".name: required");
    if (std::find(kProviderTypes.begin(), kProviderTypes.end(), p.type) == kProviderTypes.end()) {
      errors->push_back(where + path + ".type: '" + p.type +
                        "' is not one of openai, anthropic, bedrock, builtin");
    }
    for (const auto& other : out) {
      if (!p.name.empty() && other.name == p.name) {
        errors->push_back(where + path + ".name: '" + p.name + "' is used twice");
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<ModelAliasConfig> ParseModelAliases(const YAML::Node& node, const std::string& file,
                                                std::vector<std::string>* errors) {
  std::vector<ModelAliasConfig> out;
  if (!node.IsSequence()) {
    errors->push_back(Where(file, node) + "models.aliases: expected a list of aliases");
    return out;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = StrCat("models.aliases[", i, "]");
    const YAML::Node& entry = node[i];
    ModelAliasConfig alias;
    if (!entry.IsMap()) {
      errors->push_back(Where(file, entry) + path + ": expected a mapping");
      continue;
    }
    for (const auto& kv : entry) {
      const std::string key = kv.first.as<std::string>();
      if (key == "name" && kv.second.IsScalar()) {
        alias.name = kv.second.Scalar();
      } else if (key == "targets" && kv.second.IsSequence()) {
        for (size_t t = 0; t < kv.second.size(); ++t) {
          ModelTargetConfig target;
          ReadFields(kv.second[t], StrCat(path, ".targets[", t, "]"), file,
                     {{"provider", Str(&target.provider)}, {"model", Str(&target.model)}}, errors);
          if (target.provider.empty() || target.model.empty()) {
            errors->push_back(Where(file, kv.second[t]) + path + ".targets[" + std::to_string(t) +
                              "]: provider and model are required");
          }
          alias.targets.push_back(std::move(target));
        }
      } else {
        errors->push_back(Where(file, kv.first) + path + "." + key +
                          (key == "name" || key == "targets" ? ": wrong type" : ": unknown field"));
      }
    }
    if (alias.name.empty()) errors->push_back(Where(file, entry) + path + ".name: required");
    if (alias.targets.empty()) {
      errors->push_back(Where(file, entry) + path + ".targets: at least one target is required");
    }
    out.push_back(std::move(alias));
  }
  return out;
}

}  // namespace basalt
