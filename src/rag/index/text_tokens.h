// How the text adapters turn text into words, shaped after SQLite FTS5's
// `unicode61` tokenizer: a word is a run of letters and digits (ASCII
// alphanumerics, and non-ASCII characters outside the punctuation, symbol and
// space blocks listed in text_tokens.cc); everything else separates words.
// ASCII is lowercased; other characters are kept as they are (FTS5 folds them
// itself; the in-memory fake does not, which only matters for non-ASCII text).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace basalt::rag {

// Queries longer than this many words are cut (the rest is ignored), which
// bounds the work one query can ask of the engine.
inline constexpr size_t kMaxQueryWords = 256;

// The words of `text`, in order, duplicates kept.
std::vector<std::string> Words(std::string_view text);

// An FTS5 MATCH expression that ORs the words of `text` as quoted strings
// ("w1" OR "w2" ...; a double quote inside is doubled), so no FTS5 query
// syntax is ever interpreted. Empty when the text has no words: no hits.
std::string MatchExpression(std::string_view text);

// The index terms of `text` as `porter unicode61` makes them: Words, each
// stemmed by PorterStem. The in-memory fake indexes and queries these.
std::vector<std::string> IndexTerms(std::string_view text);

// Porter's 1980 stemmer as SQLite's FTS5 `porter` tokenizer applies it
// (including the "bli" -> "ble" and "logi" -> "log" rules of Porter's own
// implementation): words shorter than 3 or longer than 64 bytes are left
// alone. `word` is lowercase.
std::string PorterStem(std::string_view word);

}  // namespace basalt::rag
