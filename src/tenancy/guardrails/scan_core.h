// Internal: the one pass that finds candidate matches in a window of text,
// the overlap resolution, and anonymization. Policy::Scan runs it once over
// the whole text (a final window); StreamScanner runs it over the unsent tail
// of a stream and learns from `open_from` how much it must hold back.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenancy/guardrails/detect.h"
#include "tenancy/guardrails/policy.h"

namespace basalt::guardrails::internal {

// kind: [0, kEntityTypeCount) an EntityType; then one per custom regex (in
// policy order); then one per denied phrase.
struct Candidate {
  size_t begin = 0;
  size_t end = 0;
  int kind = 0;
  Action action = Action::kNone;
};

struct CandidateSet {
  std::vector<Candidate> candidates;  // complete matches starting at or after `from`
  // The earliest position where a match could still start or grow once more
  // text arrives (window size when nothing is pending; always for final windows).
  size_t open_from = 0;
  // Per regex, the searches made: (match begin, where the next search starts).
  std::vector<std::vector<std::pair<size_t, size_t>>> regex_steps;
};

// Finds candidates starting in [from, size). `regex_start[r]` is where regex r
// resumes its left-to-right search (a stream carries it between windows).
void FindCandidates(const Policy& policy, Source source, const Window& window, size_t from,
                    const std::vector<size_t>& regex_start, CandidateSet* out);

struct Selection {
  std::vector<Candidate> actors;    // ANONYMIZE and BLOCK, in order, disjoint
  std::vector<Candidate> reported;  // NONE, overlapping no actor, in order, disjoint
};
// The deterministic overlap resolution documented on Policy::Scan.
Selection Select(std::vector<Candidate> candidates);

// Appends text[from, to) with each ANONYMIZE actor inside replaced by its
// placeholder ("{EMAIL}", "{employee_id}").
void AppendAnonymized(const Policy& policy, std::string_view text, size_t from, size_t to,
                      const std::vector<Candidate>& actors, std::string* out);

// `offset` is added to the candidate's positions (a stream's absolute offset).
Finding MakeFinding(const Policy& policy, const Candidate& c, std::string_view text, size_t offset);

}  // namespace basalt::guardrails::internal
