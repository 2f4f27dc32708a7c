// ProviderRegistry: the model providers basalt can call, by name. app/ creates
// each adapter named in the configuration and registers it here at start-up; the
// router then looks providers up by the names the model catalog uses.
//
// Thread-safety: register everything before the registry is shared; afterwards
// it is read-only and safe to read from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "models/provider.h"

namespace basalt::models {

class ProviderRegistry {
 public:
  // Takes ownership. kInvalidArgument for a null provider or an empty name or one
  // containing '/' (it would be ambiguous in "provider/model" names);
  // kAlreadyExists when a provider of that name is already registered.
  absl::Status Register(std::unique_ptr<ModelProvider> provider);

  // The provider registered under `name`, or nullptr.
  ModelProvider* Find(std::string_view name) const;

  // Registered names, sorted.
  std::vector<std::string> Names() const;
  bool empty() const { return providers_.empty(); }

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<ModelProvider>> providers_;
};

}  // namespace basalt::models
