// Policy::Scan: one final window over the whole text.
#include <algorithm>

#include "tenancy/guardrails/policy.h"
#include "tenancy/guardrails/scan_core.h"

namespace basalt::guardrails {

Assessment Policy::Scan(std::string_view text, Source source) const {
  const internal::Window window(text, /*final=*/true);
  internal::CandidateSet set;
  FindCandidates(*this, source, window, 0, {}, &set);
  internal::Selection selection = internal::Select(std::move(set.candidates));

  Assessment out;
  for (char c : text) out.characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  std::vector<internal::Candidate> all = selection.actors;
  all.insert(all.end(), selection.reported.begin(), selection.reported.end());
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  out.findings.reserve(all.size());
  for (const internal::Candidate& c : all) out.findings.push_back(MakeFinding(*this, c, text, 0));
  for (const internal::Candidate& c : selection.actors) {
    out.blocked = out.blocked || c.action == Action::kBlock;
    out.anonymized = out.anonymized || c.action == Action::kAnonymize;
  }
  if (out.blocked) {
    out.anonymized = false;
    out.text = blocked_message(source);
  } else {
    out.text.reserve(text.size());
    AppendAnonymized(*this, text, 0, text.size(), selection.actors, &out.text);
  }
  return out;
}

}  // namespace basalt::guardrails
