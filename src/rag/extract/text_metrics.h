// Measures of extracted text against a reference, for tests and benches.
#pragma once

#include <string>
#include <string_view>

namespace basalt::rag::extract {

// Whitespace runs collapsed to one space, leading and trailing ones dropped.
std::string NormalizeWhitespace(std::string_view s);
// Every whitespace byte removed (for phrase checks that ignore layout).
std::string RemoveWhitespace(std::string_view s);

// Character error rate: the Levenshtein distance between `reference` and
// `hypothesis` in code points (UTF-8), over the reference's length; both are
// whitespace-normalised first. 0 for identical texts; may exceed 1.
double CharacterErrorRate(std::string_view reference, std::string_view hypothesis);

}  // namespace basalt::rag::extract
