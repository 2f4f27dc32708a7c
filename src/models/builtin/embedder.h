// The builtin provider's embeddings: feature hashing, NOT a learned model.
// Texts that share words and spellings land close together; meaning beyond
// that (synonyms, paraphrase) is not captured.
//
// The vector for a text, in kEmbeddingDimensions = 384 dimensions:
//   1. Normalise: ASCII letters lowercased, whitespace runs collapsed to one
//      space, trimmed. Empty after that → kInvalidArgument.
//   2. Features, each hashed with a one-byte kind tag:
//        'w' word unigrams (words: runs of ASCII alphanumerics or non-ASCII
//            bytes)                                   weight 1.0
//        'b' adjacent word bigrams ("w1 w2")          weight 0.5
//        '3' character 3-grams and '4' 4-grams of " " + text + " " (UTF-8
//            characters, not bytes)                   weight 0.25
//   3. h = StableHash64(tag, feature). Bucket h % 384; sign + if bit 63 of h
//      is 0, else -; value sign * weight * sqrt(tf), tf being how often the
//      feature occurs (sublinear, and sqrt is exactly rounded everywhere,
//      unlike log).
//   4. L2-normalise. (If signs cancel to an all-zero vector — possible only
//      for tiny inputs — bucket StableHash64('t', text) % 384 is set to 1.)
// StableHash64 is FNV-1a 64 (offset 0xcbf29ce484222325, prime 0x100000001b3)
// over the tag byte then the feature bytes, finished with MurmurHash3's fmix64
// so the low bits used for the bucket are well mixed. These constants, the
// weights and the rules above ARE the model: changing any of them changes
// every stored vector, which embedder_test.cc's golden values catch.
//
// Arithmetic is in double with a fixed summation order (features sorted by
// hash), compiled without FMA contraction, then rounded to float, so vectors
// are bit-identical across runs and platforms.
//
// Cost: linear in the text, roughly a few microseconds per KiB plus a sort of
// ~2 hashes per byte; 64 KiB embeds in a few milliseconds, which is acceptable
// inline on an io thread for the short inputs embeddings take.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace basalt::models::builtin {

inline constexpr int kEmbeddingDimensions = 384;

uint64_t StableHash64(char tag, std::string_view data);

// The unit-length embedding of `text`; kInvalidArgument "must not be empty"
// when it holds only whitespace (callers prefix the field name).
absl::StatusOr<std::vector<float>> EmbedText(std::string_view text);

}  // namespace basalt::models::builtin
