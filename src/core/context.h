// RequestContext: what every request carries through every layer — its id, the
// tenant and principal it runs as, its deadline and trace id. Services take it
// by const reference; upstream calls derive their timeouts from `deadline`.
#pragma once

#include <chrono>
#include <string>

#include "core/permissions.h"

namespace basalt {

struct RequestContext {
  std::string request_id;
  std::string trace_id;
  std::string tenant = "dev";     // tenant every store call is scoped to
  std::string principal = "dev";  // who is calling: user, key id or access key
  // What the principal may do. The dev principal (loopback, no auth
  // configured) may do everything; authenticated principals get what their
  // key, token or role grants.
  PermissionSet permissions = kAllPermissions;
  std::string key_id;   // the API key id or access key id, for usage and rate limits
  std::string remote;   // the client's address, for the audit log
  // Residency: when set, only providers tagged with this region may serve the
  // request (set from the tenant's policy; never from the client).
  std::string region;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  // Time left before the deadline; zero once it has passed.
  [[nodiscard]] std::chrono::milliseconds Remaining(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const {
    if (deadline == std::chrono::steady_clock::time_point::max()) return std::chrono::hours(24);
    if (now >= deadline) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
  }
  [[nodiscard]] bool Expired(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const {
    return now >= deadline;
  }
};

}  // namespace basalt
