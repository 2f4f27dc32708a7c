// Chunking: cuts an extracted document (rag/types.h) into the chunks a
// knowledge base embeds and indexes, by the strategy of its ChunkingConfig.
//
// Every chunk's [begin, end) is a span of Extracted::text on UTF-8 character
// boundaries, trimmed of ASCII whitespace, and its text is that span (MARKDOWN
// prefixes the heading path). Its pages are the first and last PageSpan the
// span overlaps ({0, 0} when unpaged). Chunks come in document order; every
// non-whitespace byte of the text lies in at least one searchable chunk.
// Token counts are models/builtin/tokenizer.h's CountTokens.
//
//   DEFAULT       Whole sentences packed up to max_tokens (300). A chunk that
//                 would overflow ends at its last paragraph break (blank line,
//                 form feed, heading) when that keeps it half full. A sentence
//                 over max_tokens is cut at token boundaries, preferring
//                 whitespace. Overlap: a chunk cut inside a paragraph begins
//                 with the previous chunk's last sentence if that sentence is
//                 at most max_tokens/5; none across paragraph breaks.
//   FIXED_SIZE    Windows of max_tokens tokens, each next one starting
//                 overlap_percentage% of max_tokens before the previous end;
//                 cuts prefer whitespace (a cut inside a word moves back to
//                 the window's last space in its second half).
//   HIERARCHICAL  Parents as DEFAULT with parent_max_tokens and no overlap
//                 (searchable = false; they tile the document); after each
//                 parent, its children: FIXED_SIZE windows of child_max_tokens
//                 inside it, overlapping by overlap_tokens, with `parent` set
//                 to the parent's index in the vector.
//   NONE          The whole text as one chunk (none when it is blank).
//   MARKDOWN      Sections from each heading's line to the next heading's
//                 (any level; the text before the first heading is its own
//                 section). A section holding only its heading line is merged
//                 into the next. Each section is chunked as DEFAULT and every
//                 chunk's text is prefixed with the section's heading path
//                 ("Guide > Install\n\n"); the prefix counts toward max_tokens
//                 and is left out when it would take over half of it.
//   SEMANTIC      In two steps around the caller's embedder: SemanticUnits,
//                 then SemanticChunks.
//
// Thread-safety: all functions are pure; call them from any thread. They are
// CPU work proportional to the text (well over 100 MB/s for DEFAULT): run a
// large document on the BlockingPool rather than an io thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rag/chunk/chunking.h"
#include "rag/types.h"

namespace basalt::rag {

// The chunks of `doc`. kInvalidArgument when `config` is out of bounds
// (ValidateChunkingConfig) or its strategy is SEMANTIC (use the two steps).
absl::StatusOr<std::vector<Chunk>> ChunkDocument(const Extracted& doc,
                                                 const ChunkingConfig& config);

// One sentence of a document for SEMANTIC chunking.
struct SemanticUnit {
  std::string text;  // what to embed: the sentence with buffer_size neighbours on each side
  size_t begin = 0;  // the sentence itself: Extracted::text[begin, end)
  size_t end = 0;
  int tokens = 0;  // CountTokens of the sentence
};

// The document's sentences in order (a sentence over max_tokens is cut into
// token windows), each with the text to embed. buffer_size is clamped to 0..1.
std::vector<SemanticUnit> SemanticUnits(const Extracted& doc, const ChunkingConfig& config);

// Chunks from `units` (SemanticUnits of the same doc and config) and one
// vector per unit: a chunk ends where the cosine distance between consecutive
// units is above the breakpoint_percentile-th percentile of all those
// distances (linear interpolation); a group over max_tokens is packed as
// DEFAULT without overlap. A zero vector is at distance 1 from everything.
// kInvalidArgument when the config is out of bounds, the counts differ, the
// vectors' dimensions differ, or a unit's span is not in `doc` in order.
absl::StatusOr<std::vector<Chunk>> SemanticChunks(const Extracted& doc,
                                                  const std::vector<SemanticUnit>& units,
                                                  const std::vector<std::vector<float>>& unit_vectors,
                                                  const ChunkingConfig& config);

}  // namespace basalt::rag
