// The promises every Extracted keeps (types.h), checked: fuzz targets and
// tests call it on every result.
#pragma once

#include "absl/status/status.h"
#include "rag/types.h"

namespace basalt::rag::extract {

// kInternal naming the first broken promise: text is valid UTF-8; page spans
// are in order, 1-based, within the text, on character boundaries and do not
// overlap; ocr_pages counts the ocr spans; headings are in order, levels 1..6,
// non-empty, within the text and on character boundaries.
absl::Status CheckInvariants(const Extracted& e);

}  // namespace basalt::rag::extract
