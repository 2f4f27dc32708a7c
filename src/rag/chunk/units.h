// Internal to chunk/: sentences as packing units, and the sentence-aware
// packer behind DEFAULT, MARKDOWN sections and HIERARCHICAL parents.
#pragma once

#include <string_view>
#include <vector>

#include "rag/chunk/spans.h"
#include "rag/types.h"

namespace basalt::rag::chunk_internal {

// Where each valid heading's line starts in `doc.text`, ascending, no repeats.
// A heading out of range or out of order is ignored.
std::vector<size_t> HeadingLineStarts(const Extracted& doc);

// The units of text[span): its sentences (models/builtin/sentences.h), each
// sentence over `max_tokens` cut into token windows without overlap. The
// first unit and every unit after a blank line, a form feed or at the start
// of a heading line (`heading_starts`) is marked as a paragraph start.
std::vector<Unit> SentenceUnits(std::string_view text, Span span,
                                const std::vector<size_t>& heading_starts, int max_tokens);

// Packs consecutive units into spans of at most `max_tokens` tokens (each
// unit must fit alone). A chunk that would overflow ends at its last paragraph
// boundary when that keeps it at least half full, never on a heading line
// when it can end before it. With `overlap_sentence`, a chunk cut inside a
// paragraph begins with the previous chunk's last sentence when that
// sentence is short (at most max_tokens/5) and both fit.
std::vector<Span> PackUnits(const std::vector<Unit>& units, int max_tokens,
                            bool overlap_sentence);

// Whether text[from, to) holds a paragraph break (two line feeds or a form feed).
bool ParagraphBreak(std::string_view text, size_t from, size_t to);

}  // namespace basalt::rag::chunk_internal
