// Sentence splitting for the builtin provider's extractive chat.
//
// A sentence ends at a line break, or after '.', '!' or '?' (plus any closing
// quotes or brackets) that is followed by whitespace — except after a common
// abbreviation ("e.g.", "Dr.", "etc."), an initial ("J. Smith"), a list number
// at the start of a line ("1. First"), or a '.' followed by a lowercase word.
// Decimals ("3.14") and URLs never split because no whitespace follows the '.'.
// Pieces are trimmed; empty ones are dropped.
#pragma once

#include <string_view>
#include <vector>

namespace basalt::models::builtin {

// The sentences of `text`, in order, as views into it.
std::vector<std::string_view> SplitSentences(std::string_view text);

// Whether `sentence` is a question: its last character, ignoring closing
// quotes and brackets, is '?'.
bool IsQuestion(std::string_view sentence);

}  // namespace basalt::models::builtin
