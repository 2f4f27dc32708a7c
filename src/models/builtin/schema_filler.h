// Builds a JSON value that satisfies a JSON Schema by fixed rules — how the
// builtin provider answers when a tool call is forced. Nothing is inferred:
//   - "const" → that value; "enum" → its first value;
//   - "anyOf"/"oneOf" → the first alternative that is not {"type":"null"};
//     "allOf" → the sub-schemas' properties and required lists merged;
//   - "$ref" → a local reference ("#/$defs/X", "#/definitions/X", any JSON
//     pointer into the root schema) is followed; others fill as {};
//   - object → every property named in "required" (in that order), others
//     omitted; array → "minItems" items (0 by default, at most 64);
//   - string → `text` (the user's message), cut to "maxLength" characters and
//     padded with 'x' to "minLength"; the formats date-time, date, time,
//     email, uri/url, uuid and ipv4 get a fixed valid sample instead;
//     "pattern" is not honoured;
//   - integer/number → 0 moved inside minimum/maximum (and their exclusive
//     forms); boolean → false; null → null;
//   - a schema with no type: an object if it has "properties"/"required", an
//     array if it has "items", else a string.
// The schema is untrusted input: every member is type-checked and recursion is
// capped (depth 32), so a malformed or cyclic schema yields a value, never an
// exception or a crash.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace basalt::models::builtin {

nlohmann::json FillFromSchema(const nlohmann::json& schema, std::string_view text);

}  // namespace basalt::models::builtin
