// Streaming-safe scanning of model output (or input) that arrives in chunks.
//
// Feed returns the bytes that are safe to send now, already anonymized; it
// holds back only the tail where a match could still start or grow (an email
// being typed, digits that may become a card, the first words of a denied
// phrase, and max_match_bytes for custom regexes), never splits a UTF-8
// sequence, and Finish returns the rest. For any chunking, the concatenated
// output equals Policy::Scan(whole text).text when the text is not blocked.
//
// When a BLOCK match settles, blocked() becomes true: the bytes before it
// have been returned (they cannot be recalled), nothing after it ever is, and
// the caller ends the stream with the policy's blocked message.
//
// Not thread-safe: one scanner per stream. The Policy must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tenancy/guardrails/policy.h"

namespace basalt::guardrails {

class StreamScanner {
 public:
  explicit StreamScanner(const Policy& policy, Source source = Source::kOutput);

  // Returns the bytes now safe to emit (possibly empty). Empty once blocked or finished.
  std::string Feed(std::string_view chunk);
  // Returns everything still held. Further calls return "".
  std::string Finish();

  bool blocked() const { return blocked_; }
  bool finished() const { return finished_; }
  // Settled findings so far, offsets into the whole stream's input bytes.
  // Acting findings (ANONYMIZE, BLOCK) are exactly those of Policy::Scan; a
  // NONE finding that spans the held tail may be reported although the whole
  // scan would drop it for overlapping a later acting match.
  const std::vector<Finding>& findings() const { return findings_; }
  // Input bytes received but not yet emitted.
  size_t held_bytes() const { return buffer_.size() - context_; }

 private:
  std::string Step(bool final);

  const Policy* policy_;
  Source source_;
  std::string buffer_;                  // context_ emitted bytes, then the held tail
  size_t context_ = 0;                  // leading bytes of buffer_ already emitted
  uint64_t base_ = 0;                   // stream offset of buffer_[0]
  std::vector<uint64_t> regex_resume_;  // stream offset where each regex search resumes
  bool blocked_ = false;
  bool finished_ = false;
  std::vector<Finding> findings_;
};

}  // namespace basalt::guardrails
