#include "models/router/provider_registry.h"

#include <algorithm>

#include "core/strings.h"

namespace basalt::models {

absl::Status ProviderRegistry::Register(std::unique_ptr<ModelProvider> provider) {
  if (provider == nullptr) return absl::InvalidArgumentError("provider: must not be null");
  std::string name(provider->name());
  if (name.empty()) return absl::InvalidArgumentError("provider name: must not be empty");
  if (name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("provider name '", name, "': must not contain '/'"));
  }
  if (providers_.contains(name)) {
    return absl::AlreadyExistsError(StrCat("provider '", name, "' is already registered"));
  }
  providers_.emplace(std::move(name), std::move(provider));
  return absl::OkStatus();
}

ModelProvider* ProviderRegistry::Find(std::string_view name) const {
  auto it = providers_.find(ToAbsl(name));
  return it == providers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ProviderRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(providers_.size());
  for (const auto& [name, provider] : providers_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace basalt::models
