// Cost of a guardrail Scan on a typical 1 KiB prompt, clean and with PII, and
// of streaming the same text in 16-byte chunks.
#include <benchmark/benchmark.h>

#include <string>

#include "tenancy/guardrails/policy.h"
#include "tenancy/guardrails/stream_scanner.h"

namespace basalt::guardrails {
namespace {

const Policy& PiiOn() {
  static const Policy policy = *Policy::FromJson(nlohmann::json::parse(R"({
    "pii": {"EMAIL": "ANONYMIZE", "PHONE": "ANONYMIZE", "US_SOCIAL_SECURITY_NUMBER": "BLOCK",
            "CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE", "INTERNATIONAL_BANK_ACCOUNT_NUMBER": "ANONYMIZE",
            "IP_ADDRESS": "ANONYMIZE", "AWS_ACCESS_KEY": "BLOCK", "AWS_SECRET_KEY": "BLOCK"},
    "denied_words": ["project zeus", "internal only"]})"));
  return policy;
}

const Policy& WithRegex() {
  static const Policy policy = *Policy::FromJson(nlohmann::json::parse(R"({
    "pii": {"EMAIL": "ANONYMIZE", "PHONE": "ANONYMIZE", "CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE",
            "IP_ADDRESS": "ANONYMIZE"},
    "regexes": [{"name": "employee_id", "pattern": "EMP-[0-9]{6}", "action": "ANONYMIZE",
                 "max_match_bytes": 10}]})"));
  return policy;
}

std::string Kib(bool pii) {
  const std::string clean =
      "Please summarise the quarterly report for the board meeting next Tuesday. Focus on "
      "revenue growth, churn, the hiring plan for 2025 and the three largest risks. Keep it "
      "under 300 words, use plain language, and end with two questions we should ask. ";
  const std::string dirty =
      "Customer jane.doe@example.com (phone +1 415 555 2671) paid with 4111 1111 1111 1111 "
      "from 192.168.10.20; refund to DE89 3704 0044 0532 0130 00 and reply to her today. ";
  std::string text;
  while (text.size() < 1024) text += pii && text.size() % 2 == 0 ? dirty : clean;
  text.resize(1024);
  return text;
}

void BM_ScanClean1KiB(benchmark::State& state) {
  const std::string text = Kib(false);
  for (auto _ : state) benchmark::DoNotOptimize(PiiOn().Scan(text, Source::kInput));
  state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_ScanClean1KiB);

void BM_ScanPii1KiB(benchmark::State& state) {
  const std::string text = Kib(true);
  for (auto _ : state) benchmark::DoNotOptimize(PiiOn().Scan(text, Source::kInput));
  state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_ScanPii1KiB);

void BM_ScanCleanWithRegex1KiB(benchmark::State& state) {
  const std::string text = Kib(false);
  for (auto _ : state) benchmark::DoNotOptimize(WithRegex().Scan(text, Source::kInput));
  state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_ScanCleanWithRegex1KiB);

void BM_StreamPii1KiBIn16ByteChunks(benchmark::State& state) {
  const std::string text = Kib(true);
  for (auto _ : state) {
    StreamScanner s(PiiOn(), Source::kOutput);
    size_t bytes = 0;
    for (size_t at = 0; at < text.size(); at += 16) bytes += s.Feed(text.substr(at, 16)).size();
    bytes += s.Finish().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_StreamPii1KiBIn16ByteChunks);

}  // namespace
}  // namespace basalt::guardrails

BENCHMARK_MAIN();
