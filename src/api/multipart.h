// A multipart/form-data body (RFC 7578) split into its parts, for document
// uploads. Untrusted bytes: bounded (at most `max_parts` parts), never throws,
// fuzzed by fuzz/multipart_fuzz.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace basalt::api {

struct FormPart {
  std::string name;          // Content-Disposition name
  std::string filename;      // Content-Disposition filename ("" for a plain field)
  std::string content_type;  // the part's Content-Type ("" when absent)
  std::string_view data;     // a view into the body
};

// The boundary from a Content-Type header ("multipart/form-data; boundary=x");
// kInvalidArgument naming Content-Type when there is none.
absl::StatusOr<std::string> MultipartBoundary(std::string_view content_type);

// kInvalidArgument saying what is malformed. Views point into `body`.
absl::StatusOr<std::vector<FormPart>> ParseMultipart(std::string_view body,
                                                     std::string_view boundary,
                                                     size_t max_parts = 1000);

}  // namespace basalt::api
