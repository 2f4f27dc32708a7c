// Confidence in a grounded answer, and when to abstain. Pure functions.
//
//   evidence   = how well retrieval found material for the question, in [0, 1]:
//                a weighted mean of the signals present (weights renormalised
//                over those available):
//                  coverage (weight 0.6): the share of the question's distinct
//                    content terms found in the top `coverage_passages`
//                    passages, to the power 1.5 (a question half about
//                    something else is mostly unanswered);
//                  vector (0.25): the best Passage::vector_score mapped
//                    linearly from [vector_floor, vector_ceiling] to [0, 1];
//                  text (0.15): the best Passage::text_score s as
//                    s / (s + text_half) (BM25 is unbounded; text_half is the
//                    score that counts as half-convincing).
//                Scores the fusion invented (RRF) are not evidence: Passage::
//                score is not read.
//   confidence = evidence * (grounding_floor + (1 - grounding_floor) * grounding)
//                so an answer its sources do not support (grounding 0) stays
//                below grounding_floor whatever retrieval found, and a fully
//                grounded one keeps the retrieval evidence.
// Calibrated on the builtin embedder and BM25 over short passages: an answer
// copied from a passage holding every question term scores above 0.7, an
// unsupported answer below 0.3, and a question about something absent from the
// passages falls below kDefaultAbstainThreshold.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "rag/answer/prompt.h"

namespace basalt::rag {

inline constexpr double kDefaultAbstainThreshold = 0.35;

struct ConfidenceOptions {
  size_t coverage_passages = 3;
  // Builtin embedder: unrelated short texts score 0.1-0.3 (shared character
  // n-grams), a passage answering the question 0.3-0.5. Other embedders need
  // their own range (learned embeddings sit much higher).
  double vector_floor = 0.15;
  double vector_ceiling = 0.45;
  double text_half = 4.0;
  double grounding_floor = 0.2;
};

// The retrieval evidence alone (see above). 0 with no passages.
double RetrievalEvidence(std::span<const Passage> retrieved, std::string_view question,
                         const ConfidenceOptions& options = {});

// Confidence in [0, 1] from the retrieved passages (best first), the
// question, and the answer's grounding (GroundedAnswer::grounding).
double Confidence(std::span<const Passage> retrieved, double grounding,
                  std::string_view question, const ConfidenceOptions& options = {});

// Whether to replace the answer with the no-answer text: confidence below the
// threshold.
bool ShouldAbstain(double confidence, double threshold = kDefaultAbstainThreshold);

// Whether the model said it cannot answer. Compared case-insensitively with
// markers, punctuation and spacing ignored: occurrences of `no_answer_text`
// and of the builtin model's kNoAnswer are removed, and the answer is a
// no-answer when nothing with content words is left, or what is left is a
// short (at most 25 words) refusal: "I don't know", "not enough
// information", "sorry", or a negation beside a word naming the material
// ("the sources do not say"). An answer that says the no-answer text and goes
// on with claims is NOT a no-answer (the builtin model may pick that sentence
// beside real ones; the confidence decides). "It does not contain nuts." is an
// answer.
bool IsNoAnswer(std::string_view answer, std::string_view no_answer_text = kDefaultNoAnswerText);

}  // namespace basalt::rag
