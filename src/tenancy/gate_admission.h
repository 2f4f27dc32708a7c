// What a model call holds from admission to its end: the rate-limit keys and
// the tokens charged to them, the concurrency permit, the budget reservation.
// ModelGate::Finish settles or releases all of it exactly once.
#pragma once

#include <array>
#include <string>

#include "core/context.h"
#include "tenancy/limits/budget_ledger.h"
#include "tenancy/limits/concurrency_limiter.h"
#include "tenancy/limits/rate_limiter.h"
#include "tenancy/model_gate.h"

namespace basalt::tenancy {

struct ModelGate::Admission {
  TenantPtr tenant;
  RequestContext ctx;        // the caller's, with the tenant's region set
  std::string model;         // as the client named it (after the default model)
  std::string tenant_key;    // "tenant:<t>"
  std::string api_key;       // "key:<id>"; empty when the principal has none
  limits::RateLimits tenant_limits;
  limits::RateLimits key_limits;
  int64_t charged_tokens = 0;  // tokens charged to the buckets at admission
  limits::ConcurrencyLimiter::Permit permit;
  limits::Reservation reservation;
  limits::RateGrant grant;  // for the x-ratelimit-* headers
  bool finished = false;
  models::Usage worst;  // the reserved worst case, charged when a stream ends without usage

  // The rate-limit keys of this call (one or two).
  size_t Keys(std::array<limits::RateKey, 2>& out) const {
    out[0] = {tenant_key, tenant_limits};
    if (api_key.empty()) return 1;
    out[1] = {api_key, key_limits};
    return 2;
  }
};

}  // namespace basalt::tenancy
