// Fuzzer for the guardrail scanner. Input layout: byte 0 gives n (0-7), the
// next n bytes are chunk lengths (used cyclically, 0 feeds an empty chunk),
// the rest is the text. The text is scanned whole and streamed in those
// chunks; the stream's output must equal the whole scan's text (or both
// block), and findings must be in order, in bounds and disjoint.
// Input starting with '{' is also tried as a policy (must never crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tenancy/guardrails/policy.h"
#include "tenancy/guardrails/stream_scanner.h"

namespace {

using basalt::guardrails::Action;
using basalt::guardrails::Assessment;
using basalt::guardrails::Policy;
using basalt::guardrails::Source;
using basalt::guardrails::StreamScanner;

const Policy& FuzzPolicy() {
  static const Policy policy = *Policy::FromJson(nlohmann::json::parse(R"({
    "pii": {"EMAIL": "ANONYMIZE", "PHONE": "ANONYMIZE", "US_SOCIAL_SECURITY_NUMBER": "ANONYMIZE",
            "CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE", "INTERNATIONAL_BANK_ACCOUNT_NUMBER": "ANONYMIZE",
            "IP_ADDRESS": "NONE", "AWS_ACCESS_KEY": {"input": "BLOCK", "output": "ANONYMIZE"},
            "AWS_SECRET_KEY": "ANONYMIZE"},
    "regexes": [{"name": "employee_id", "pattern": "EMP-[0-9]{6}", "action": "ANONYMIZE",
                 "max_match_bytes": 10},
                {"name": "tag", "pattern": "\\bT[0-9]{1,8}\\b", "action": "NONE",
                 "max_match_bytes": 9}],
    "denied_words": ["project zeus", "forbidden"]})"));
  return policy;
}

void CheckFindings(const Assessment& a, size_t size) {
  size_t last_end = 0;
  bool first = true;
  for (const auto& f : a.findings) {
    if (f.begin >= f.end || f.end > size) std::abort();
    if (!first && f.begin < last_end) std::abort();
    if (f.match.size() != f.end - f.begin) std::abort();
    last_end = f.end;
    first = false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.empty()) return 0;
  const size_t n = static_cast<unsigned char>(input[0]) % 8;
  if (input.size() < 1 + n) return 0;
  std::vector<size_t> lengths;
  for (size_t i = 0; i < n; ++i) lengths.push_back(static_cast<unsigned char>(input[1 + i]) % 64);
  const std::string_view text = input.substr(1 + n);

  if (!text.empty() && text[0] == '{') {
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_discarded()) {
      auto policy = Policy::FromJson(json);
      if (!policy.ok() && policy.status().message().empty()) std::abort();
      if (policy.ok()) (void)policy->Scan(text, Source::kInput);
    }
  }

  const Policy& policy = FuzzPolicy();
  for (Source source : {Source::kInput, Source::kOutput}) {
    const Assessment whole = policy.Scan(text, source);
    CheckFindings(whole, text.size());
    StreamScanner stream(policy, source);
    std::string out;
    size_t at = 0;
    for (size_t k = 0; at < text.size(); ++k) {
      const size_t len = lengths.empty() ? text.size() : lengths[k % lengths.size()];
      const size_t take = std::min(len, text.size() - at);
      out += stream.Feed(text.substr(at, take));
      at += take;
      if (lengths.empty() || (k > 4 * text.size() + 8)) {
        out += stream.Feed(text.substr(at));
        at = text.size();
      }
    }
    out += stream.Finish();
    if (whole.blocked != stream.blocked()) std::abort();
    if (!whole.blocked && out != whole.text) std::abort();
  }
  return 0;
}
