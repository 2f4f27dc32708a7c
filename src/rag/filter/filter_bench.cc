// Micro-benchmarks for the query-time pieces of filtered hybrid retrieval and
// answering (bench/rag/filter/run prints the command and the machine):
//   - RetrievalFilter::Matches over 100k documents, and the same filter over
//     AttributeColumns (what a query runs), beside a hand-written C++
//     predicate of the same filter;
//   - Fuse of two ranked lists (RRF and weighted);
//   - BuildAnswerRequest, Ground and Confidence on a typical answer.
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "rag/answer/citations.h"
#include "rag/answer/confidence.h"
#include "rag/answer/prompt.h"
#include "rag/filter/attribute_columns.h"
#include "rag/filter/fusion.h"
#include "rag/filter/retrieval_filter.h"

namespace basalt::rag {
namespace {

constexpr size_t kDocuments = 100'000;

std::vector<Attributes> MakeDocuments() {
  std::mt19937 rng(7);
  const char* kinds[] = {"report", "memo", "manual", "invoice", "letter"};
  const char* tags[] = {"finance", "legal", "hr", "eng", "sales", "ops"};
  std::vector<Attributes> docs(kDocuments);
  for (Attributes& a : docs) {
    a["kind"] = std::string(kinds[rng() % 5]);
    a["year"] = static_cast<double>(1990 + rng() % 35);
    a["public"] = rng() % 2 == 0;
    std::vector<std::string> t;
    for (int i = 0; i < 3; ++i) t.emplace_back(tags[rng() % 6]);
    a["tags"] = std::move(t);
    if (rng() % 4 == 0) a["region"] = std::string("eu");
  }
  return docs;
}

const std::vector<Attributes>& Documents() {
  static const std::vector<Attributes> docs = MakeDocuments();
  return docs;
}

constexpr const char* kFilter = R"({"andAll": [
  {"equals": {"key": "kind", "value": "report"}},
  {"greaterThanOrEquals": {"key": "year", "value": 2010}},
  {"orAll": [{"listContains": {"key": "tags", "value": "legal"}},
             {"in": {"key": "tags", "value": [["eng", "eng", "eng"]]}}]},
  {"notEquals": {"key": "region", "value": "eu"}}]})";

void BM_FilterMatches(benchmark::State& state) {
  const RetrievalFilter filter = *RetrievalFilter::Compile(nlohmann::json::parse(kFilter));
  const std::vector<Attributes>& docs = Documents();
  size_t passing = 0;
  for (auto _ : state) {
    passing = 0;
    for (const Attributes& a : docs) passing += filter.Matches(a) ? 1 : 0;
    benchmark::DoNotOptimize(passing);
  }
  state.counters["passing"] = static_cast<double>(passing);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * docs.size()));
}
BENCHMARK(BM_FilterMatches)->Unit(benchmark::kMillisecond);

// The same filter over AttributeColumns, as Generation::Search evaluates it.
void BM_FilterColumns(benchmark::State& state) {
  const RetrievalFilter filter = *RetrievalFilter::Compile(nlohmann::json::parse(kFilter));
  const std::vector<Attributes>& docs = Documents();
  AttributeColumns columns;
  for (size_t i = 0; i < docs.size(); ++i) columns.Set(static_cast<uint32_t>(i), docs[i]);
  std::vector<uint8_t> out;
  size_t passing = 0;
  for (auto _ : state) {
    columns.Evaluate(filter, docs.size(), out);
    passing = 0;
    for (uint8_t m : out) passing += m;
    benchmark::DoNotOptimize(passing);
  }
  state.counters["passing"] = static_cast<double>(passing);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * docs.size()));
}
BENCHMARK(BM_FilterColumns)->Unit(benchmark::kMillisecond);

// The same filter written by hand: the peer.
bool HandWritten(const Attributes& a) {
  auto kind = a.find("kind");
  if (kind == a.end() || kind->second != AttributeValue(std::string("report"))) return false;
  auto year = a.find("year");
  const double* y = year == a.end() ? nullptr : std::get_if<double>(&year->second);
  if (y == nullptr || *y < 2010) return false;
  auto tags = a.find("tags");
  const auto* list =
      tags == a.end() ? nullptr : std::get_if<std::vector<std::string>>(&tags->second);
  const bool legal = list != nullptr && std::find(list->begin(), list->end(), "legal") != list->end();
  const bool all_eng = list != nullptr && *list == std::vector<std::string>{"eng", "eng", "eng"};
  if (!legal && !all_eng) return false;
  auto region = a.find("region");
  return region == a.end() || region->second != AttributeValue(std::string("eu"));
}

void BM_HandWrittenPredicate(benchmark::State& state) {
  const std::vector<Attributes>& docs = Documents();
  size_t passing = 0;
  for (auto _ : state) {
    passing = 0;
    for (const Attributes& a : docs) passing += HandWritten(a) ? 1 : 0;
    benchmark::DoNotOptimize(passing);
  }
  state.counters["passing"] = static_cast<double>(passing);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * docs.size()));
}
BENCHMARK(BM_HandWrittenPredicate)->Unit(benchmark::kMillisecond);

void BM_FilterCompile(benchmark::State& state) {
  const nlohmann::json parsed = nlohmann::json::parse(kFilter);
  for (auto _ : state) benchmark::DoNotOptimize(RetrievalFilter::Compile(parsed));
}
BENCHMARK(BM_FilterCompile);

void BM_Fuse(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<VectorHit> v;
  std::vector<TextHit> t;
  for (int i = 0; i < n; ++i) {
    v.push_back(VectorHit{static_cast<Label>(i * 3), 1.0f - 0.001f * i});
    t.push_back(TextHit{static_cast<Label>(i * 5), 20.0f - 0.01f * i});
  }
  FusionOptions options;
  options.mode = state.range(1) == 0 ? FusionOptions::Mode::kRrf : FusionOptions::Mode::kWeighted;
  for (auto _ : state) benchmark::DoNotOptimize(Fuse(v, t, options, 10));
}
BENCHMARK(BM_Fuse)->Args({50, 0})->Args({50, 1})->Args({1000, 0})->Args({1000, 1});

std::vector<Passage> AnswerPassages() {
  const std::string body =
      "The warranty covers manufacturing defects for two years from the date of purchase. "
      "Damage from water, drops or unauthorised repairs is not covered by the warranty. "
      "To make a claim, contact support with the order number and a photo of the defect. "
      "Replacement units ship within five business days once the claim is approved.\n";
  std::vector<Passage> passages;
  for (int i = 1; i <= 5; ++i) {
    Passage p;
    p.number = i;
    p.text = body + body + body;  // ~1 KB each
    p.vector_score = 0.4;
    p.text_score = 6.0;
    passages.push_back(std::move(p));
  }
  return passages;
}

void BM_BuildAnswerRequest(benchmark::State& state) {
  const std::vector<Passage> passages = AnswerPassages();
  for (auto _ : state) {
    benchmark::DoNotOptimize(BuildAnswerRequest("Does the warranty cover water damage?", passages, {}));
  }
}
BENCHMARK(BM_BuildAnswerRequest);

void BM_GroundAndConfidence(benchmark::State& state) {
  const std::vector<Passage> passages = AnswerPassages();
  const std::string answer =
      "Damage from water, drops or unauthorised repairs is not covered by the warranty [1]. "
      "The warranty covers manufacturing defects for two years [2]. Claims need a photo [3].";
  for (auto _ : state) {
    const GroundedAnswer g = Ground(answer, passages);
    benchmark::DoNotOptimize(
        Confidence(passages, g.grounding, "Does the warranty cover water damage?"));
  }
}
BENCHMARK(BM_GroundAndConfidence)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace basalt::rag

BENCHMARK_MAIN();
