#include "store/validation.h"

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace basalt {
namespace {

absl::Status RequireNonEmpty(std::string_view field, std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(StrCat(field, " must not be empty"));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCollection(std::string_view collection) {
  return RequireNonEmpty("collection", collection);
}

absl::Status ValidateScope(std::string_view tenant, std::string_view collection) {
  if (absl::Status s = RequireNonEmpty("tenant", tenant); !s.ok()) return s;
  return ValidateCollection(collection);
}

absl::Status ValidateRecordKey(std::string_view tenant, std::string_view collection,
                               std::string_view id) {
  if (absl::Status s = ValidateScope(tenant, collection); !s.ok()) return s;
  if (absl::Status s = RequireNonEmpty("id", id); !s.ok()) return s;
  if (id.size() > kMaxRecordIdBytes) {
    return absl::InvalidArgumentError(
        StrCat("id is ", id.size(), " bytes; the limit is ", kMaxRecordIdBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateBody(std::string_view body) {
  // accept() reports malformed input by returning false; it does not throw for
  // parse errors. Catching anyway keeps a third-party exception (bad_alloc on a
  // huge document) from escaping the store boundary.
  try {
    if (nlohmann::json::accept(body)) return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(StrCat("body could not be parsed: ", e.what()));
  }
  return absl::InvalidArgumentError("body is not valid JSON");
}

absl::Status ValidateListOptions(const ListOptions& options) {
  if (options.limit < kMinListLimit || options.limit > kMaxListLimit) {
    return absl::InvalidArgumentError(StrCat("limit is ", options.limit, "; it must be in [",
                                             kMinListLimit, ", ", kMaxListLimit, "]"));
  }
  if (options.after_id.size() > kMaxRecordIdBytes) {
    return absl::InvalidArgumentError(StrCat("after_id is longer than ", kMaxRecordIdBytes,
                                             " bytes, so it is not a valid cursor"));
  }
  return absl::OkStatus();
}

}  // namespace basalt
