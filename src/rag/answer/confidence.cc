#include "rag/answer/confidence.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>

#include "models/builtin/extractive_chat.h"
#include "rag/answer/citations.h"
#include "rag/answer/terms.h"

namespace basalt::rag {
namespace {

constexpr double kCoverageWeight = 0.6;
constexpr double kVectorWeight = 0.25;
constexpr double kTextWeight = 0.15;
constexpr double kCoverageExponent = 1.5;
constexpr size_t kMaxRefusalWords = 25;

// A refusal, in Normalise()d words: a phrase about the model itself, or a
// negation next to a word naming the material ("the sources do not say").
constexpr std::array<std::string_view, 13> kSelfRefusals = {
    "i don t know",  "i do not know",    "i cannot answer",        "i can t answer",
    "i cannot find", "i can t find",     "i could not find",       "i am unable to",
    "i m unable to", "unable to answer", "not enough information", "no information",
    "sorry",
};
constexpr std::array<std::string_view, 7> kMaterialWords = {
    "document", "documents", "source", "sources", "context", "passage", "passages"};
constexpr std::array<std::string_view, 8> kNegations = {
    "not", "no", "don t", "doesn t", "lack", "lacks", "neither", "nothing"};

double Clamp01(double v) { return std::isnan(v) ? 0 : std::clamp(v, 0.0, 1.0); }

// Lowercase ASCII words separated by single spaces; other bytes are kept.
std::string Normalise(std::string_view text) {
  std::string out;
  bool gap = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c >= 0x80;
    if (!word) {
      gap = true;
      continue;
    }
    if (gap && !out.empty()) out.push_back(' ');
    gap = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : ch);
  }
  return out;
}

size_t WordCount(std::string_view normalised) {
  if (normalised.empty()) return 0;
  return static_cast<size_t>(std::count(normalised.begin(), normalised.end(), ' ')) + 1;
}

// Whether `phrase` occurs in `haystack` as whole words (both Normalise()d).
bool ContainsPhrase(std::string_view haystack, std::string_view phrase) {
  if (phrase.empty()) return false;
  for (size_t at = haystack.find(phrase); at != std::string_view::npos;
       at = haystack.find(phrase, at + 1)) {
    const size_t end = at + phrase.size();
    if ((at == 0 || haystack[at - 1] == ' ') && (end == haystack.size() || haystack[end] == ' ')) {
      return true;
    }
  }
  return false;
}

// `text` with every occurrence of `phrase` replaced by a space.
std::string RemoveAll(std::string_view text, std::string_view phrase) {
  std::string out;
  size_t from = 0;
  for (size_t at = text.find(phrase); at != std::string_view::npos; at = text.find(phrase, from)) {
    out.append(text.substr(from, at - from));
    out.push_back(' ');
    from = at + phrase.size();
  }
  out.append(text.substr(from));
  return out;
}

bool IsRefusal(std::string_view text) {
  if (WordCount(text) > kMaxRefusalWords) return false;
  auto any = [&](auto& phrases) {
    return std::any_of(phrases.begin(), phrases.end(),
                       [&](std::string_view phrase) { return ContainsPhrase(text, phrase); });
  };
  return any(kSelfRefusals) || (any(kMaterialWords) && any(kNegations));
}

}  // namespace

double RetrievalEvidence(std::span<const Passage> retrieved, std::string_view question,
                         const ConfidenceOptions& options) {
  if (retrieved.empty()) return 0;
  double sum = 0;
  double weights = 0;

  const TermSet wanted = Terms(question);
  if (!wanted.empty()) {
    const size_t n = std::min(retrieved.size(), std::max<size_t>(options.coverage_passages, 1));
    std::string top;
    for (size_t i = 0; i < n; ++i) {
      top += retrieved[i].text;
      top += '\n';
    }
    const double coverage =
        static_cast<double>(SharedCount(wanted, Terms(top))) / static_cast<double>(wanted.size());
    sum += kCoverageWeight * std::pow(coverage, kCoverageExponent);
    weights += kCoverageWeight;
  }

  std::optional<double> best_vector;
  std::optional<double> best_text;
  for (const Passage& p : retrieved) {
    if (p.vector_score && (!best_vector || *p.vector_score > *best_vector)) {
      best_vector = p.vector_score;
    }
    if (p.text_score && (!best_text || *p.text_score > *best_text)) best_text = p.text_score;
  }
  if (best_vector) {
    const double span = options.vector_ceiling - options.vector_floor;
    const double v = span > 0 ? (*best_vector - options.vector_floor) / span
                              : (*best_vector >= options.vector_ceiling ? 1.0 : 0.0);
    sum += kVectorWeight * Clamp01(v);
    weights += kVectorWeight;
  }
  if (best_text) {
    const double s = std::max(0.0, *best_text);
    const double half = options.text_half > 0 ? options.text_half : 1.0;
    sum += kTextWeight * (s / (s + half));
    weights += kTextWeight;
  }
  return weights > 0 ? Clamp01(sum / weights) : 0;
}

double Confidence(std::span<const Passage> retrieved, double grounding, std::string_view question,
                  const ConfidenceOptions& options) {
  const double floor = Clamp01(options.grounding_floor);
  const double evidence = RetrievalEvidence(retrieved, question, options);
  return Clamp01(evidence * (floor + (1 - floor) * Clamp01(grounding)));
}

bool ShouldAbstain(double confidence, double threshold) {
  return std::isnan(confidence) || confidence < threshold;
}

bool IsNoAnswer(std::string_view answer, std::string_view no_answer_text) {
  std::string text = Normalise(StripMarkers(answer));
  for (const std::string& phrase :
       {Normalise(no_answer_text), Normalise(models::builtin::kNoAnswer)}) {
    if (phrase.empty()) continue;
    text = RemoveAll(text, phrase);
  }
  text = Normalise(text);
  if (text.empty() || Terms(text).empty()) return true;
  // Whatever else there is decides: more claims make it an answer (its
  // confidence then decides), a refusal does not.
  return IsRefusal(text);
}

}  // namespace basalt::rag
