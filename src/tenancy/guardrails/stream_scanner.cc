#include "tenancy/guardrails/stream_scanner.h"

#include <algorithm>

#include "tenancy/guardrails/scan_core.h"

namespace basalt::guardrails {
namespace {

// Emitted bytes kept before the held tail: matchers look back this far.
constexpr size_t kContextBytes = internal::kMaxLookback + 32;

// The largest cut <= `cut` that does not end inside a UTF-8 sequence.
size_t Utf8SafeCut(std::string_view text, size_t from, size_t cut) {
  size_t k = cut;
  for (int back = 0; k > from && back < 4; ++back) {
    --k;
    const auto b = static_cast<unsigned char>(text[k]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = b < 0x80           ? 1
                        : (b >> 5) == 0x6  ? 2
                        : (b >> 4) == 0xE  ? 3
                        : (b >> 3) == 0x1E ? 4
                                           : 1;
    return k + need > cut ? k : cut;
  }
  return cut;  // no lead byte nearby: not UTF-8 there, nothing to protect
}

}  // namespace

StreamScanner::StreamScanner(const Policy& policy, Source source)
    : policy_(&policy), source_(source), regex_resume_(policy.regexes().size(), 0) {}

std::string StreamScanner::Feed(std::string_view chunk) {
  if (blocked_ || finished_) return "";
  buffer_.append(chunk);
  return Step(/*final=*/false);
}

std::string StreamScanner::Finish() {
  if (blocked_ || finished_) return "";
  std::string out = Step(/*final=*/true);
  finished_ = true;
  return out;
}

std::string StreamScanner::Step(bool final) {
  const internal::Window window(buffer_, final);
  const size_t from = context_;
  std::vector<size_t> starts(regex_resume_.size());
  for (size_t r = 0; r < starts.size(); ++r) {
    starts[r] = regex_resume_[r] > base_ ? static_cast<size_t>(regex_resume_[r] - base_) : 0;
  }
  internal::CandidateSet set;
  FindCandidates(*policy_, source_, window, from, starts, &set);

  // Candidates starting before the first open position are settled: nothing
  // that arrives later can change them or anything they compete with.
  const size_t open = final ? buffer_.size() : std::max(from, set.open_from);
  std::erase_if(set.candidates, [&](const internal::Candidate& c) { return c.begin >= open; });
  internal::Selection selection = internal::Select(std::move(set.candidates));

  size_t cut = open;
  for (;;) {
    if (!selection.actors.empty() && selection.actors.back().end > cut) {
      cut = selection.actors.back().begin;  // emit an acting match whole or not at all
      selection.actors.pop_back();
      continue;
    }
    const size_t safe = final ? cut : Utf8SafeCut(buffer_, from, cut);
    if (safe == cut) break;
    cut = safe;
  }
  std::erase_if(selection.reported, [&](const internal::Candidate& c) { return c.begin >= cut; });

  size_t emit_to = cut;
  std::vector<internal::Candidate> settled;
  for (const internal::Candidate& c : selection.actors) {
    settled.push_back(c);
    if (c.action == Action::kBlock) {
      blocked_ = true;
      emit_to = c.begin;
      break;
    }
  }
  for (const internal::Candidate& c : selection.reported) {
    if (c.begin < emit_to || !blocked_) settled.push_back(c);
  }
  std::sort(settled.begin(), settled.end(),
            [](const auto& a, const auto& b) { return a.begin < b.begin; });
  for (const internal::Candidate& c : settled) {
    findings_.push_back(MakeFinding(*policy_, c, buffer_, static_cast<size_t>(base_)));
  }

  std::string out;
  AppendAnonymized(*policy_, buffer_, from, emit_to, selection.actors, &out);
  if (blocked_) return out;

  for (size_t r = 0; r < set.regex_steps.size(); ++r) {
    for (const auto& [begin, next] : set.regex_steps[r]) {
      if (begin < cut) regex_resume_[r] = base_ + next;
    }
  }
  const size_t drop = cut > kContextBytes ? cut - kContextBytes : 0;
  buffer_.erase(0, drop);
  base_ += drop;
  context_ = cut - drop;
  return out;
}

}  // namespace basalt::guardrails
