#include "models/builtin/embedder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace basalt::models::builtin {
namespace {

std::vector<float> Embed(std::string_view text) {
  auto v = EmbedText(text);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : std::vector<float>(kEmbeddingDimensions, 0.0f);
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

TEST(Embedder, HashIsFnv1aWithMurmurFinaliser) {
  // FNV-1a 64 of "" is the offset basis; of "a" it is 0xaf63dc4c8601ec8c (published vectors).
  // With the tag byte 'a' and no data, the pre-finaliser hash equals FNV-1a("a").
  uint64_t k = 0xaf63dc4c8601ec8cULL;
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  EXPECT_EQ(StableHash64('a', ""), k);
  EXPECT_EQ(StableHash64('w', "hello"), 0xb36067ce26afda4fULL);
}

TEST(Embedder, GoldenValuesForHelloWorld) {
  const auto v = Embed("hello world");
  ASSERT_EQ(v.size(), 384u);
  const float first8[] = {0.0f, 0.0f, 0.0f, 0.260377824f, 0.0f, 0.0f, 0.0f, 0.0f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(v[i], first8[i]) << "component " << i;
  // The first nonzero components too, so the check does not rest on zeros.
  const std::vector<std::pair<int, float>> nonzero = {
      {3, 0.260377824f},  {15, -0.130188912f}, {23, -0.130188912f}, {26, -0.130188912f},
      {40, 0.130188912f}, {59, -0.260377824f}, {82, 0.130188912f},  {88, 0.130188912f}};
  std::vector<std::pair<int, float>> actual;
  for (int i = 0; i < 384 && actual.size() < nonzero.size(); ++i) {
    if (v[i] != 0.0f) actual.emplace_back(i, v[i]);
  }
  EXPECT_EQ(actual, nonzero);
}

TEST(Embedder, DeterministicAndUnitLength) {
  for (std::string_view text : {"hello world", "a", "!!!", "Ünïcödé text — ok", "x y"}) {
    const auto a = Embed(text);
    EXPECT_EQ(a, Embed(text)) << text;
    EXPECT_NEAR(std::sqrt(Dot(a, a)), 1.0, 1e-6) << text;
  }
}

TEST(Embedder, NormalisesCaseAndWhitespace) {
  EXPECT_EQ(Embed("Hello   World\n"), Embed("hello world"));
}

TEST(Embedder, SimilarTextsAreCloser) {
  const auto a = Embed("the cat sat on the mat");
  const auto b = Embed("a cat sat on a mat");
  const auto c = Embed("quarterly revenue grew");
  EXPECT_GT(Dot(a, b), Dot(a, c) + 0.3);
  EXPECT_GT(Dot(a, b), Dot(b, c) + 0.3);
  EXPECT_GT(Dot(Embed("embedding vectors"), Embed("embedded vector")),
            Dot(Embed("embedding vectors"), c));
}

TEST(Embedder, RejectsEmptyText) {
  EXPECT_EQ(EmbedText("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EmbedText(" \n\t").status().message(), "must not be empty");
}

}  // namespace
}  // namespace basalt::models::builtin
