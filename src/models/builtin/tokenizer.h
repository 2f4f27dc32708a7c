// The builtin provider's token counter. It is an APPROXIMATION, not a real
// BPE vocabulary: counts land near what GPT/Claude tokenizers report for
// English prose (about four characters per token) and are exactly
// reproducible, which is what usage reporting and max_tokens need here.
//
// Rules, applied left to right:
//   - whitespace separates pieces and is not itself a token;
//   - a word (a run of ASCII letters, digits or non-ASCII bytes) is one token
//     per started group of 4 characters: "cat" is 1, "tokenizer" is 3;
//   - every other ASCII character (punctuation, symbols) is one token.
// Pieces end on UTF-8 character boundaries, so cutting text at a piece end
// never splits a character.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace basalt::models::builtin {

struct TokenSpan {
  size_t begin = 0;  // byte offsets into the text: [begin, end)
  size_t end = 0;
};

// The pieces of `text`, in order.
std::vector<TokenSpan> Tokenize(std::string_view text);

// Tokenize(text).size(), without allocating.
int64_t CountTokens(std::string_view text);

}  // namespace basalt::models::builtin
