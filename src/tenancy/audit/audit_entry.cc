#include "tenancy/audit/audit_entry.h"

#include <openssl/evp.h>

#include <array>
#include <nlohmann/json.hpp>

namespace basalt::audit {

const std::string kZeroHash(64, '0');

std::string_view OutcomeName(AuditOutcome outcome) {
  switch (outcome) {
    case AuditOutcome::kOk:
      return "ok";
    case AuditOutcome::kDenied:
      return "denied";
    case AuditOutcome::kError:
      return "error";
  }
  return "error";
}

std::optional<AuditOutcome> ParseOutcome(std::string_view text) {
  if (text == "ok") return AuditOutcome::kOk;
  if (text == "denied") return AuditOutcome::kDenied;
  if (text == "error") return AuditOutcome::kError;
  return std::nullopt;
}

namespace {

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence (a cut
// never lands on a continuation byte 10xxxxxx).
void Truncate(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  s.resize(end);
}

}  // namespace

absl::Status NormalizeEntry(AuditEntry& entry) {
  if (entry.tenant.empty()) return absl::InvalidArgumentError("audit entry: tenant is empty");
  if (entry.action.empty()) return absl::InvalidArgumentError("audit entry: action is empty");
  if (entry.tenant.size() > kMaxTenantBytes) {
    return absl::InvalidArgumentError("audit entry: tenant id longer than 128 bytes");
  }
  Truncate(entry.action, kMaxActionBytes);
  Truncate(entry.principal, kMaxFieldBytes);
  Truncate(entry.resource, kMaxFieldBytes);
  Truncate(entry.reason, kMaxFieldBytes);
  Truncate(entry.remote_addr, kMaxRemoteAddrBytes);
  Truncate(entry.request_id, kMaxRequestIdBytes);
  std::map<std::string, std::string> detail;
  for (auto& [key, value] : entry.detail) {
    if (detail.size() == kMaxDetailEntries) break;
    std::string k = key;
    Truncate(k, kMaxDetailKeyBytes);
    std::string v = value;
    Truncate(v, kMaxDetailValueBytes);
    detail.emplace(std::move(k), std::move(v));
  }
  entry.detail = std::move(detail);
  return absl::OkStatus();
}

void AppendField(std::string& out, std::string_view bytes) {
  AppendField(out, static_cast<int64_t>(bytes.size()));
  out.append(bytes.data(), bytes.size());
}

void AppendField(std::string& out, int64_t value) {
  const uint64_t v = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // SHA-256 from the default provider cannot fail on in-memory input short of
  // allocation failure; an empty result then fails every later comparison.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    return std::string();
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), size));
}

std::string EntryHash(const StoredEntry& e) {
  std::string buf;
  buf.reserve(256 + e.detail_json.size());
  AppendField(buf, std::string_view("basalt.audit.entry.v1"));
  AppendField(buf, e.tenant);
  AppendField(buf, e.seq);
  AppendField(buf, e.time_ms);
  AppendField(buf, e.principal);
  AppendField(buf, e.action);
  AppendField(buf, e.resource);
  AppendField(buf, e.remote_addr);
  AppendField(buf, e.outcome);
  AppendField(buf, e.reason);
  AppendField(buf, e.request_id);
  AppendField(buf, e.detail_json);
  AppendField(buf, e.prev_hash);
  return Sha256Hex(buf);
}

StoredEntry MakeStoredEntry(const AuditEntry& entry, int64_t seq, const std::string& prev_hash) {
  StoredEntry e;
  e.tenant = entry.tenant;
  e.seq = seq;
  e.time_ms = entry.time_ms;
  e.principal = entry.principal;
  e.action = entry.action;
  e.resource = entry.resource;
  e.remote_addr = entry.remote_addr;
  e.outcome = std::string(OutcomeName(entry.outcome));
  e.reason = entry.reason;
  e.request_id = entry.request_id;
  nlohmann::json detail = nlohmann::json::object();
  for (const auto& [key, value] : entry.detail) detail[key] = value;
  // Invalid UTF-8 is replaced rather than thrown on; std::map keys keep the
  // object's keys sorted, so the text is deterministic.
  e.detail_json = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  e.prev_hash = prev_hash;
  e.hash = EntryHash(e);
  return e;
}

AuditEntry EntryFromStored(const StoredEntry& e) {
  AuditEntry entry;
  entry.tenant = e.tenant;
  entry.principal = e.principal;
  entry.action = e.action;
  entry.time_ms = e.time_ms;
  entry.remote_addr = e.remote_addr;
  entry.resource = e.resource;
  entry.outcome = ParseOutcome(e.outcome).value_or(AuditOutcome::kError);
  entry.reason = e.reason;
  entry.request_id = e.request_id;
  nlohmann::json detail = nlohmann::json::parse(e.detail_json, nullptr, /*allow_exceptions=*/false);
  if (detail.is_object()) {
    for (const auto& [key, value] : detail.items()) {
      if (value.is_string()) entry.detail[key] = value.get<std::string>();
    }
  }
  return entry;
}

}  // namespace basalt::audit
