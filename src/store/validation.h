// Input rules every Store adapter enforces the same way, so the SQLite adapter
// and the in-memory fake reject exactly the same calls with the same messages
// (store.h lists the rules). Each function returns OK or kInvalidArgument whose
// message names the offending field. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "store/store.h"

namespace basalt {

// Longest record id, in bytes.
inline constexpr size_t kMaxRecordIdBytes = 256;
// Bounds of ListOptions::limit.
inline constexpr int kMinListLimit = 1;
inline constexpr int kMaxListLimit = 1000;

// tenant, collection and id must be non-empty; id at most kMaxRecordIdBytes.
[[nodiscard]] absl::Status ValidateRecordKey(std::string_view tenant, std::string_view collection,
                                             std::string_view id);
// collection must be non-empty (admin calls, which have no tenant).
[[nodiscard]] absl::Status ValidateCollection(std::string_view collection);
// tenant and collection must be non-empty (List, which has no id).
[[nodiscard]] absl::Status ValidateScope(std::string_view tenant, std::string_view collection);
// The body must be one valid JSON value (RFC 8259).
[[nodiscard]] absl::Status ValidateBody(std::string_view body);
// limit within [kMinListLimit, kMaxListLimit]; after_id at most kMaxRecordIdBytes.
[[nodiscard]] absl::Status ValidateListOptions(const ListOptions& options);

}  // namespace basalt
