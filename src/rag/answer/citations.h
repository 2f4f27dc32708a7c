// Grounding: ties each sentence of a generated answer to the retrieved
// passages that support it, with byte spans on both sides, and scores how much
// of the answer the passages support. Model-independent; pure functions.
//
// 1. Markers. "[n]" and "[n, m]" (digits, commas, spaces) are citation
//    markers. They are removed from the answer together with the spaces
//    before them ("France [1]." -> "France."), and the text is trimmed:
//    GroundedAnswer::text is the clean answer, and every span in the answer
//    points into it (as Bedrock returns clean text plus spans). A marker
//    naming no passage is dropped and counted in `invalid_markers`.
// 2. Claims. The clean text is split into sentences (the builtin splitter);
//    each sentence is one claim and gets one Citation, in order. A marker
//    belongs to the sentence it sits in or directly follows.
// 3. Evidence, per claim, among the passages its valid markers name, or
//    among all passages when it has no marker:
//    a. the claim occurs verbatim in a passage: that exact span;
//    b. else it is a run of whole passage sentences joined by spaces (how the
//       builtin extractive model joins what it copies): those exact spans;
//    c. else term overlap (stemmed content words, stopwords dropped): the
//       passage holding the largest share of the claim's terms, spanned by its
//       sentence sharing the most terms. An unmarked claim is attributed only
//       when that share is at least kMinAttribution; a marked one keeps every
//       passage it names (the whole passage when nothing overlaps).
// 4. Support, per claim, in [0, 1]: the share of the claim's distinct terms
//    found in the passages it is attributed to, times valid / all markers
//    when it has markers (so a marker pointing nowhere lowers it; all
//    pointing nowhere makes it 0). A claim of fewer than kMinClaimTerms terms
//    ("PWNED", "Yes") is no evidence by itself: it is supported only through
//    an explicit valid marker, never by chance overlap.
// 5. Grounding, in [0, 1]: the support of the claims weighted by their term
//    counts, i.e. the share of the answer's content terms that its cited
//    passages support. 0 for an answer with no content terms.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rag/answer/prompt.h"

namespace basalt::rag {

inline constexpr double kMinAttribution = 0.5;
inline constexpr size_t kMinClaimTerms = 2;

struct CitedSpan {
  int passage_number = 0;
  size_t begin = 0;  // byte span in that Passage::text; may be the whole passage
  size_t end = 0;
};

struct Citation {
  size_t answer_begin = 0;  // byte span of the claim in GroundedAnswer::text
  size_t answer_end = 0;
  std::vector<CitedSpan> spans;  // empty: nothing supports the claim
  double support = 0;
  bool verbatim = false;  // every span is an exact copy of the claim's text
};

struct GroundedAnswer {
  std::string text;                 // the answer without markers
  std::vector<Citation> citations;  // one per sentence, in order
  double grounding = 0;
  int invalid_markers = 0;  // marker numbers naming no passage
};

GroundedAnswer Ground(std::string_view answer, std::span<const Passage> passages);

// The answer with citation markers removed, as GroundedAnswer::text.
std::string StripMarkers(std::string_view answer);

}  // namespace basalt::rag
