#include "rag/filter/fusion.h"

#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace basalt::rag {
namespace {

using json = nlohmann::json;

std::vector<Label> Labels(const std::vector<FusedHit>& hits) {
  std::vector<Label> out;
  for (const auto& h : hits) out.push_back(h.label);
  return out;
}

TEST(FusionTest, ClassicRrfAtEqualWeights) {
  const std::vector<VectorHit> v = {{1, 0.9f}, {2, 0.8f}, {3, 0.7f}};
  const std::vector<TextHit> t = {{3, 12.0f}, {4, 9.0f}, {1, 3.0f}};
  const std::vector<FusedHit> fused = Fuse(v, t, FusionOptions{}, 10);
  ASSERT_EQ(fused.size(), 4u);
  // 1: 1/61 + 1/63; 3: 1/63 + 1/61 (tie, label 1 first); 2: 1/62; 4: 1/62 (tie).
  EXPECT_THAT(Labels(fused), ::testing::ElementsAre(1, 3, 2, 4));
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 61 + 1.0 / 63);
  EXPECT_DOUBLE_EQ(fused[2].score, 1.0 / 62);
  EXPECT_EQ(fused[0].vector_rank, 1);
  EXPECT_EQ(fused[0].text_rank, 3);
  EXPECT_FLOAT_EQ(static_cast<float>(fused[0].vector_score), 0.9f);
  EXPECT_FLOAT_EQ(static_cast<float>(fused[0].text_score), 3.0f);
  EXPECT_EQ(fused[2].text_rank, -1);
  EXPECT_EQ(fused[3].vector_rank, -1);
  EXPECT_EQ(fused[3].vector_score, 0);
}

TEST(FusionTest, RrfWeightsAndK) {
  const std::vector<VectorHit> v = {{1, 0.9f}, {2, 0.8f}};
  const std::vector<TextHit> t = {{2, 5.0f}, {3, 4.0f}};
  FusionOptions options;
  options.vector_weight = 0.8;
  options.rrf_k = 10;
  const std::vector<FusedHit> fused = Fuse(v, t, options, 2);
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_EQ(fused[0].label, 2u);  // 1.6/12 + 0.4/11
  EXPECT_DOUBLE_EQ(fused[0].score, 1.6 / 12 + 0.4 / 11);
  EXPECT_EQ(fused[1].label, 1u);  // 1.6/11
  EXPECT_DOUBLE_EQ(fused[1].score, 1.6 / 11);
}

TEST(FusionTest, WeightedNormalisesEachList) {
  const std::vector<VectorHit> v = {{1, 0.9f}, {2, 0.5f}, {3, 0.1f}};
  const std::vector<TextHit> t = {{3, 20.0f}, {4, 10.0f}};
  FusionOptions options;
  options.mode = FusionOptions::Mode::kWeighted;
  options.vector_weight = 0.5;
  const std::vector<FusedHit> fused = Fuse(v, t, options, 0);
  ASSERT_EQ(fused.size(), 4u);
  // 1: 0.5*1; 2: 0.5*0.5; 3: 0.5*0 + 0.5*1; 4: 0.5*0.
  EXPECT_THAT(Labels(fused), ::testing::ElementsAre(1, 3, 2, 4));
  EXPECT_NEAR(fused[0].score, 0.5, 1e-9);
  EXPECT_NEAR(fused[1].score, 0.5, 1e-9);
  EXPECT_NEAR(fused[2].score, 0.25, 1e-6);
  EXPECT_NEAR(fused[3].score, 0.0, 1e-9);
}

TEST(FusionTest, WeightedSingleHitNormalisesToOne) {
  const std::vector<VectorHit> v = {{7, 0.2f}};
  FusionOptions options;
  options.mode = FusionOptions::Mode::kWeighted;
  options.vector_weight = 0.3;
  const std::vector<FusedHit> fused = Fuse(v, {}, options, 5);
  ASSERT_EQ(fused.size(), 1u);
  EXPECT_DOUBLE_EQ(fused[0].score, 0.3);
}

TEST(FusionTest, ZeroWeightListOnlyHitsAreDropped) {
  const std::vector<VectorHit> v = {{1, 0.9f}};
  const std::vector<TextHit> t = {{2, 5.0f}, {1, 1.0f}};
  FusionOptions options;
  options.vector_weight = 1.0;
  EXPECT_THAT(Labels(Fuse(v, t, options, 10)), ::testing::ElementsAre(1));
  options.vector_weight = 0.0;
  EXPECT_THAT(Labels(Fuse(v, t, options, 10)), ::testing::ElementsAre(2, 1));
}

TEST(FusionTest, RepeatedLabelKeepsFirstEntryAndTiesAreByLabel) {
  const std::vector<VectorHit> v = {{9, 0.5f}, {9, 0.4f}, {4, 0.3f}};
  const std::vector<FusedHit> fused = Fuse(v, {}, FusionOptions{}, 10);
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_EQ(fused[0].label, 9u);
  EXPECT_EQ(fused[0].vector_rank, 1);
  EXPECT_EQ(fused[1].vector_rank, 3);
  // Equal scores: the smaller label first, whatever the input order.
  const std::vector<VectorHit> a = {{5, 0.5f}};
  const std::vector<TextHit> b = {{3, 1.0f}};
  EXPECT_THAT(Labels(Fuse(a, b, FusionOptions{}, 10)), ::testing::ElementsAre(3, 5));
}

TEST(FusionTest, EmptyInputs) {
  EXPECT_TRUE(Fuse({}, {}, FusionOptions{}, 10).empty());
}

TEST(FusionTest, ParseOptions) {
  absl::StatusOr<FusionOptions> o =
      ParseFusionOptions(json::parse(R"({"mode": "weighted", "vectorWeight": 0.7, "rrfK": 20})"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->mode, FusionOptions::Mode::kWeighted);
  EXPECT_DOUBLE_EQ(o->vector_weight, 0.7);
  EXPECT_DOUBLE_EQ(o->rrf_k, 20);
  // Absent fields keep the defaults given (a per-query override over a KB's).
  absl::StatusOr<FusionOptions> over = ParseFusionOptions(json::parse(R"({"rrfK": 5})"), *o);
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->mode, FusionOptions::Mode::kWeighted);
  EXPECT_DOUBLE_EQ(over->rrf_k, 5);
  EXPECT_TRUE(ParseFusionOptions(json()).ok());
  EXPECT_EQ(FusionOptionsJson(*o), json::parse(R"({"mode":"weighted","vectorWeight":0.7,"rrfK":20.0})"));
}

TEST(FusionTest, ParseErrorsNameTheField) {
  auto error = [](const char* text) {
    absl::StatusOr<FusionOptions> o = ParseFusionOptions(json::parse(text));
    EXPECT_FALSE(o.ok()) << text;
    return o.ok() ? std::string() : std::string(o.status().message());
  };
  EXPECT_EQ(error(R"({"mode": "max"})"), "hybrid.mode: must be \"rrf\" or \"weighted\"");
  EXPECT_EQ(error(R"({"vectorWeight": 1.5})"), "hybrid.vectorWeight: must be a number from 0 to 1");
  EXPECT_EQ(error(R"({"vectorWeight": "0.5"})"),
            "hybrid.vectorWeight: must be a number from 0 to 1");
  EXPECT_EQ(error(R"({"rrfK": 0})"), "hybrid.rrfK: must be a number greater than 0");
  EXPECT_EQ(error(R"({"weight": 1})"),
            "hybrid.weight: unknown field; expected mode, vectorWeight or rrfK");
  EXPECT_EQ(error(R"([1])"), "hybrid: must be an object");
}

}  // namespace
}  // namespace basalt::rag
