// AuditEntry: one fact for the tamper-evident audit log (audit_log.h), and the
// canonical encoding that the hash chain is computed over.
//
// What an entry may hold: who (principal), what (action), when (unix ms), from
// where (remote address), which resource, the outcome with a short reason, and
// the request id. Never secrets or content: the principal is a key id or user
// id, never the key; there is no body field. `detail` is the one open field: a
// small, bounded map of strings that callers fill with non-secret facts
// ("model": "gpt-4o", "limit": "1000"), never prompts, completions or tokens.
//
// Bounds: strings longer than their limit are cut at a UTF-8 boundary and
// `detail` keeps its first kMaxDetailEntries keys (in key order), so an
// over-long value never costs the whole entry. An empty tenant or action, or a
// tenant id over kMaxTenantBytes (cutting it could merge two tenants' chains),
// is a caller bug and is refused (kInvalidArgument).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace basalt::audit {

enum class AuditOutcome { kOk, kDenied, kError };

// "ok" | "denied" | "error".
std::string_view OutcomeName(AuditOutcome outcome);
std::optional<AuditOutcome> ParseOutcome(std::string_view text);

inline constexpr size_t kMaxTenantBytes = 128;
inline constexpr size_t kMaxActionBytes = 64;
inline constexpr size_t kMaxFieldBytes = 256;  // principal, resource, reason
inline constexpr size_t kMaxRemoteAddrBytes = 64;
inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr size_t kMaxDetailEntries = 16;
inline constexpr size_t kMaxDetailKeyBytes = 64;
inline constexpr size_t kMaxDetailValueBytes = 256;

struct AuditEntry {
  std::string tenant;       // required; each tenant has its own chain
  std::string principal;    // who: API key id, user id, "anonymous"
  std::string action;       // what, required: "tenant.create", "auth.failure", ...
  int64_t time_ms = 0;      // when (unix ms); 0 = the log's clock at Append
  std::string remote_addr;  // from where, as the server saw it
  std::string resource;     // resource id acted on; "" when none
  AuditOutcome outcome = AuditOutcome::kOk;
  std::string reason;                         // short reason for "denied"/"error"; "" when none
  std::string request_id;                     // the RequestContext's id
  std::map<std::string, std::string> detail;  // bounded, non-secret facts (see above)
};

// Cuts over-long fields to their bounds (see above). kInvalidArgument when the
// tenant or the action is empty, or the tenant is too long.
absl::Status NormalizeEntry(AuditEntry& entry);

// One row of the entries table exactly as stored: what the hash covers and
// what the verifier recomputes. Hashes are lowercase hex SHA-256.
struct StoredEntry {
  std::string tenant;
  int64_t seq = 0;  // 1, 2, 3, ... per tenant, no gaps
  int64_t time_ms = 0;
  std::string principal;
  std::string action;
  std::string resource;
  std::string remote_addr;
  std::string outcome;  // OutcomeName()
  std::string reason;
  std::string request_id;
  std::string detail_json;  // `detail` as a JSON object with sorted keys
  std::string prev_hash;    // the previous entry's hash; kZeroHash for seq 1
  std::string hash;         // EntryHash(*this)
};

// The prev hash of every tenant's first entry: 64 hex zeros.
extern const std::string kZeroHash;

// Builds the stored row of `entry` at `seq` after `prev_hash`, hash included.
StoredEntry MakeStoredEntry(const AuditEntry& entry, int64_t seq, const std::string& prev_hash);

// SHA-256 over the canonical encoding of every field of `e` but `hash`: a
// version tag, then each field in a fixed order, strings as an 8-byte
// big-endian length followed by their bytes, integers as 8 bytes big-endian.
// Length prefixes make the encoding unambiguous (no two rows encode alike).
std::string EntryHash(const StoredEntry& e);

// Back from the stored form; `detail` is empty when detail_json does not parse.
AuditEntry EntryFromStored(const StoredEntry& e);

// Canonical encoding helpers, shared with the checkpoint signature.
void AppendField(std::string& out, std::string_view bytes);
void AppendField(std::string& out, int64_t value);
// Lowercase hex SHA-256 of `data`; lowercase hex of `bytes`.
std::string Sha256Hex(std::string_view data);
std::string HexEncode(std::string_view bytes);

}  // namespace basalt::audit
