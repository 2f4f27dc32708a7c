// A tenant's guardrail policy: which sensitive-information entities to detect
// and what to do with each (separately for input and output), custom RE2
// regexes, denied words and phrases, and the messages returned when blocked.
//
// JSON shape (Policy::FromJson / ToJson); every member is optional:
//   {
//     "pii": {"EMAIL": "ANONYMIZE",
//             "CREDIT_DEBIT_CARD_NUMBER": {"input": "BLOCK", "output": "ANONYMIZE"}},
//     "regexes": [{"name": "employee_id", "pattern": "EMP-[0-9]{6}", "action": "ANONYMIZE",
//                  "max_match_bytes": 256}],
//     "denied_words": ["project zeus"],
//     "blocked_input_message": "...", "blocked_output_message": "..."
//   }
// An entity absent from "pii" is not detected. A regex's "action" may be split
// into "input_action" / "output_action" the same way. Denied words always block.
//
// A Policy is immutable after FromJson and safe to use from many threads.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tenancy/guardrails/types.h"

namespace re2 {
class RE2;
}

namespace basalt::guardrails {

struct SourceActions {
  Action input = Action::kNone;
  Action output = Action::kNone;
  Action For(Source source) const { return source == Source::kInput ? input : output; }
  bool operator==(const SourceActions&) const = default;
};

struct CustomRegex {
  std::string name;
  std::string pattern;  // RE2 syntax: matching is linear in the text
  SourceActions action;
  // Longest match the pattern can produce. A stream holds back this many bytes
  // at its tail; a match longer than this may be missed in a stream (a whole
  // Scan still finds it). Use bounded repetition in patterns.
  size_t max_match_bytes = 256;
  std::shared_ptr<const re2::RE2> re;
};

struct DeniedPhrase {
  std::string text;                // as configured
  std::vector<std::string> words;  // ASCII-lowercased, split on whitespace
  size_t max_bytes = 0;            // longest text the phrase can match
};

inline constexpr size_t kMaxRegexes = 64;
inline constexpr size_t kMaxPatternBytes = 2048;
inline constexpr size_t kMaxMatchBytesLimit = 16384;
inline constexpr size_t kMaxDeniedWords = 10000;
inline constexpr size_t kMaxPhraseBytes = 256;
// Whitespace accepted between the words of a denied phrase.
inline constexpr size_t kMaxPhraseGap = 16;

class Policy {
 public:
  // Errors are kInvalidArgument and name the field, e.g.
  // "guardrail.pii.EMAIL: unknown action 'BLOK'".
  static absl::StatusOr<Policy> FromJson(const nlohmann::json& json);
  nlohmann::json ToJson() const;

  // Scans `text` once, left to right. Overlaps are resolved deterministically:
  // among acting findings (ANONYMIZE, BLOCK) the earliest start wins, then the
  // longest, then BLOCK over ANONYMIZE, then the order PII types (enum order),
  // regexes (configured order), denied phrases. Reported-only (NONE) findings
  // are kept where they overlap no acting finding (same order among
  // themselves), so a NONE setting never hides an acting one.
  Assessment Scan(std::string_view text, Source source) const;

  // nullopt when the entity is not detected.
  const std::optional<SourceActions>& pii(EntityType type) const {
    return pii_[static_cast<int>(type)];
  }
  const std::vector<CustomRegex>& regexes() const { return regexes_; }
  const std::vector<DeniedPhrase>& denied_words() const { return denied_; }
  const std::string& blocked_input_message() const { return blocked_input_message_; }
  const std::string& blocked_output_message() const { return blocked_output_message_; }
  const std::string& blocked_message(Source source) const {
    return source == Source::kInput ? blocked_input_message_ : blocked_output_message_;
  }

  // True when the lowercase byte can begin a denied phrase (scan prefilter).
  bool PhraseMayStartWith(unsigned char lower) const { return phrase_first_[lower]; }
  // Indexes into denied_words() of the phrases starting with `lower`.
  const std::vector<int>& PhrasesStartingWith(unsigned char lower) const;

 private:
  std::array<std::optional<SourceActions>, kEntityTypeCount> pii_;
  std::vector<CustomRegex> regexes_;
  std::vector<DeniedPhrase> denied_;
  std::array<bool, 256> phrase_first_{};
  std::array<int, 256> phrase_bucket_{};  // index into buckets_, -1 when none
  std::vector<std::vector<int>> buckets_;
  std::string blocked_input_message_ = "Sorry, the model cannot answer this question.";
  std::string blocked_output_message_ = "Sorry, the model cannot answer this question.";
};

}  // namespace basalt::guardrails
