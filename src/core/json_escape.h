// Appends a string to a JSON document under construction, escaped as RFC 8259
// requires. Hot paths (access log, error envelopes) build JSON by hand with it.
#pragma once

#include <string>
#include <string_view>

namespace basalt {

void AppendJsonEscaped(std::string& out, std::string_view text);

}  // namespace basalt
