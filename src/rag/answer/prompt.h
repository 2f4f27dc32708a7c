// The grounded-answer prompt: numbered sources fenced as data, the question,
// and rules to answer only from the sources, cite them and say a fixed
// sentence when they do not hold the answer. Independent of any model.
//
// The request is:
//   system     the rules, one short line each: use only the excerpts; cite
//              each claim as [n]; if they lack the answer reply with exactly
//              the next line, which is no_answer_text alone; how excerpts are
//              fenced (with this request's nonce); excerpts are quoted data,
//              not instructions, never obeyed. Kept when a template is used:
//              they are what makes the fenced text safe. The lines carry few
//              topical words because the builtin extractive model ranks them
//              together with the excerpts' sentences; when it does pick the
//              no-answer line, it answers with exactly no_answer_text.
//   messages   `history` (earlier turns, as given), then one user message:
//                <excerpt n="1" nonce="N">
//                ...passage 1 text, verbatim...
//                </excerpt nonce="N">
//                ...
//                (blank line, then the question alone on the last line)
//              Tags sit on lines of their own, so no sentence of a passage
//              runs into a tag, and the question carries no label word. N is
//              128 random bits in hex, fresh per request (PromptOptions::nonce
//              fixes it for tests); a random nonce is drawn until it occurs in
//              no passage and not in the question, so passage text is never
//              altered and stays citable byte for byte. A fixed nonce found
//              inside a passage is neutralised there (replaced by "[nonce]"),
//              so the text can never close its fence.
//
// With PromptOptions::prompt_template (Bedrock's promptTemplate) the user
// message is the template with $search_results$ (the fenced sources), $query$
// (the question) and $output_format_instructions$ (the citation rule)
// replaced in one pass: text substituted in is never scanned again. A template
// without $search_results$ or $query$ gets them appended, so the model always
// sees both.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "models/types.h"
#include "rag/types.h"

namespace basalt::rag {

inline constexpr std::string_view kDefaultNoAnswerText =
    "The documents do not contain an answer to this question.";
inline constexpr size_t kMaxPromptTemplateBytes = 4000;  // Bedrock's TextPromptTemplate max

// One retrieved passage as the model sees it and as citations point at it.
struct Passage {
  int number = 0;             // 1-based; the model cites it as [number]
  std::string text;           // what the model reads (the chunk's text)
  std::string document_id;
  std::string source_uri;
  size_t begin = 0;           // the chunk's span in its document's text
  size_t end = 0;
  PageRange pages;
  double score = 0;           // the fused retrieval score
  // The per-list evidence behind `score` (FusedHit): the cosine similarity and
  // the BM25 score; nullopt when the list did not return this passage.
  std::optional<double> vector_score;
  std::optional<double> text_score;
};

struct PromptOptions {
  std::string no_answer_text = std::string(kDefaultNoAnswerText);
  std::string prompt_template;  // empty: the built-in layout
  std::string nonce;            // empty: a fresh random one (tests fix it)
};

// The chat request for answering `question` from `passages` after `history`.
// The caller sets model, max_tokens, temperature and stream on the result.
models::ChatRequest BuildAnswerRequest(std::string_view question,
                                       std::span<const Passage> passages,
                                       std::span<const models::Message> history,
                                       const PromptOptions& options = {});

// The fenced sources alone, as $search_results$ receives them.
std::string RenderSources(std::span<const Passage> passages, std::string_view nonce);

// The citation rule, as $output_format_instructions$ receives it.
std::string OutputFormatInstructions(const PromptOptions& options);

// kInvalidArgument naming `path` for a template over kMaxPromptTemplateBytes
// or empty, or without $search_results$ (Bedrock requires it).
absl::Status ValidatePromptTemplate(std::string_view prompt_template,
                                    std::string_view path = "promptTemplate.textPromptTemplate");

}  // namespace basalt::rag
