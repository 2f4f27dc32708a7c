// The VectorIndex contract, run against every adapter: ExactVectorIndex (the
// fake and reference) and HnswVectorIndex.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "rag/index/exact_vector_index.h"
#include "rag/index/hnsw_index.h"
#include "rag/index/vector_test_util.h"

namespace basalt::rag {
namespace {

using testing::InSubset;
using testing::UnitVectors;

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kFilterCorpus = 3000;
#else
constexpr size_t kFilterCorpus = 20000;
#endif
constexpr int kFilterDims = 64;
constexpr int kQueries = 100;

struct ExactAdapter {
  static absl::StatusOr<std::unique_ptr<VectorIndex>> Open(const std::string& path, int d) {
    absl::StatusOr<std::unique_ptr<ExactVectorIndex>> index = ExactVectorIndex::Open(path, d);
    if (!index.ok()) return index.status();
    return std::unique_ptr<VectorIndex>(std::move(*index));
  }
};

struct HnswAdapter {
  static absl::StatusOr<std::unique_ptr<VectorIndex>> Open(const std::string& path, int d) {
    HnswOptions options;
    options.path = path;
    options.dimensions = d;
    options.initial_capacity = 64;  // so the contract runs through capacity growth
    absl::StatusOr<std::unique_ptr<HnswVectorIndex>> index = HnswVectorIndex::Open(options);
    if (!index.ok()) return index.status();
    return std::unique_ptr<VectorIndex>(std::move(*index));
  }
};

std::vector<float> Basis(int d, int i) {
  std::vector<float> v(static_cast<size_t>(d), 0.0f);
  v[static_cast<size_t>(i)] = 1.0f;
  return v;
}

std::vector<Label> Labels(const std::vector<VectorHit>& hits) {
  std::vector<Label> out;
  for (const VectorHit& h : hits) out.push_back(h.label);
  return out;
}

template <class Adapter>
class VectorIndexContractTest : public ::testing::Test {
 protected:
  std::unique_ptr<VectorIndex> Make(int d = 8, const std::string& path = "") {
    absl::StatusOr<std::unique_ptr<VectorIndex>> index = Adapter::Open(path, d);
    EXPECT_TRUE(index.ok()) << index.status();
    return index.ok() ? std::move(*index) : nullptr;
  }
  std::string TempPath(const std::string& name) {
    dir_ = std::filesystem::temp_directory_path() /
           ("basalt_vector_contract_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    return (dir_ / name).string();
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

using Adapters = ::testing::Types<ExactAdapter, HnswAdapter>;
TYPED_TEST_SUITE(VectorIndexContractTest, Adapters);

TYPED_TEST(VectorIndexContractTest, AddSearchReplaceRemove) {
  auto index = this->Make();
  EXPECT_EQ(index->dimensions(), 8);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(index->Add(100 + i, Basis(8, i)).ok());
  EXPECT_EQ(index->size(), 4u);
  std::vector<float> q = Basis(8, 2);
  auto hits = index->Search({q, 1});
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].label, 102u);
  EXPECT_NEAR((*hits)[0].score, 1.0f, 1e-5);

  // Replace: label 102 now points along axis 5.
  ASSERT_TRUE(index->Add(102, Basis(8, 5)).ok());
  EXPECT_EQ(index->size(), 4u);
  std::vector<float> q5 = Basis(8, 5);
  hits = index->Search({q5, 1});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].label, 102u);

  ASSERT_TRUE(index->Remove(102).ok());
  ASSERT_TRUE(index->Remove(102).ok());  // absent is fine
  ASSERT_TRUE(index->Remove(999).ok());
  EXPECT_EQ(index->size(), 3u);
  hits = index->Search({q5, 10});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 3u);
  for (const VectorHit& h : *hits) EXPECT_NE(h.label, 102u);

  // A removed label can come back.
  ASSERT_TRUE(index->Add(102, Basis(8, 6)).ok());
  EXPECT_EQ(index->size(), 4u);
  std::vector<float> q6 = Basis(8, 6);
  hits = index->Search({q6, 1});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].label, 102u);
}

TYPED_TEST(VectorIndexContractTest, HitsAreBestFirst) {
  auto index = this->Make(16);
  auto vectors = UnitVectors(300, 16, 7);
  for (size_t i = 0; i < vectors.size(); ++i) ASSERT_TRUE(index->Add(i, vectors[i]).ok());
  auto hits = index->Search({vectors[3], 20});
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 20u);
  EXPECT_EQ((*hits)[0].label, 3u);
  for (size_t i = 1; i < hits->size(); ++i) EXPECT_GE((*hits)[i - 1].score, (*hits)[i].score);
}

TYPED_TEST(VectorIndexContractTest, RejectsBadInput) {
  auto index = this->Make();
  std::vector<float> short_vector(7, 0.1f);
  EXPECT_EQ(index->Add(1, short_vector).code(), absl::StatusCode::kInvalidArgument);
  std::vector<float> nan(8, std::nanf(""));
  EXPECT_EQ(index->Add(1, nan).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(index->Add(1, Basis(8, 0)).ok());
  EXPECT_EQ(index->Search({short_vector, 3}).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<float> q = Basis(8, 0);
  EXPECT_EQ(index->Search({q, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Search({q, -4}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->size(), 1u);
}

TYPED_TEST(VectorIndexContractTest, EmptyAndSmallIndexes) {
  auto index = this->Make();
  std::vector<float> q = Basis(8, 1);
  LabelFilter none = [](Label) { return false; };
  auto hits = index->Search({q, 5});
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
  ASSERT_TRUE(index->Add(7, Basis(8, 1)).ok());
  hits = index->Search({q, 1000000});  // k beyond size: every live vector
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(Labels(*hits), std::vector<Label>{7});
  VectorQuery filtered{q, 5, &none, 0};
  hits = index->Search(filtered);
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
  ASSERT_TRUE(index->Remove(7).ok());
  hits = index->Search({q, 5});
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
}

TYPED_TEST(VectorIndexContractTest, SaveAndReopen) {
  const std::string path = this->TempPath("index.bin");
  auto vectors = UnitVectors(500, 16, 11);
  {
    auto index = this->Make(16, path);  // no file yet: empty
    EXPECT_EQ(index->size(), 0u);
    for (size_t i = 0; i < vectors.size(); ++i) ASSERT_TRUE(index->Add(i * 3, vectors[i]).ok());
    ASSERT_TRUE(index->Remove(3).ok());
    ASSERT_TRUE(index->Save(path).ok());
  }
  auto index = this->Make(16, path);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->size(), 499u);
  auto hits = index->Search({vectors[10], 1});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].label, 30u);
  hits = index->Search({vectors[1], 500});
  ASSERT_TRUE(hits.ok());
  for (const VectorHit& h : *hits) EXPECT_NE(h.label, 3u);
  // Still writable after loading; Save replaces the file.
  ASSERT_TRUE(index->Add(3, vectors[1]).ok());
  EXPECT_EQ(index->size(), 500u);
  ASSERT_TRUE(index->Save(path).ok());
  EXPECT_EQ(this->Make(16, path)->size(), 500u);

  auto other = TypeParam::Open(path, 32);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kDataLoss) << other.status();
}

TYPED_TEST(VectorIndexContractTest, ConcurrentSearchDuringAdds) {
  auto index = this->Make(16);
  constexpr size_t kPerWriter = 400;
  auto vectors = UnitVectors(2 * kPerWriter, 16, 5);
  for (size_t i = 0; i < 50; ++i) ASSERT_TRUE(index->Add(i, vectors[i]).ok());
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (size_t i = 50 + w; i < vectors.size(); i += 2) {
        if (!index->Add(i, vectors[i]).ok()) failures++;
        if (i % 97 == 0 && !index->Remove(i - 40).ok()) failures++;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      LabelFilter even = [](Label l) { return l % 2 == 0; };
      for (size_t i = 0; !done.load(); ++i) {
        VectorQuery query{vectors[i % vectors.size()], 5, r == 0 ? nullptr : &even};
        auto hits = index->Search(query);
        if (!hits.ok() || hits->empty()) failures++;
      }
    });
  }
  threads[0].join();
  threads[1].join();
  done = true;
  threads[2].join();
  threads[3].join();
  EXPECT_EQ(failures.load(), 0);
  size_t removed = 0;
  for (size_t i = 50; i < vectors.size(); ++i) removed += i % 97 == 0;
  EXPECT_EQ(index->size(), vectors.size() - removed);
}

// Filters never lose results: at 50%, 20%, 5% and 0.1% pass rates the answer
// has exactly min(k, passing) hits, all passing, and agrees with the exact
// filtered top-k (recall@10 >= 0.9). With the true passing count, HNSW takes
// the graph at 50% and its scan at the others (HnswVectorIndex::ExactScanLimit).
template <class Adapter>
class FilteredSearchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vectors_ = new std::vector<std::vector<float>>(
        UnitVectors(kFilterCorpus + kQueries, kFilterDims, 42, 100));
    auto index = Adapter::Open("", kFilterDims);
    auto exact = ExactVectorIndex::Open("", kFilterDims);
    ASSERT_TRUE(index.ok() && exact.ok());
    for (size_t i = 0; i < kFilterCorpus; ++i) {
      ASSERT_TRUE((*index)->Add(i, (*vectors_)[i]).ok());
      ASSERT_TRUE((*exact)->Add(i, (*vectors_)[i]).ok());
    }
    index_ = index->release();
    exact_ = exact->release();
  }
  static void TearDownTestSuite() {
    delete index_;
    delete exact_;
    delete vectors_;
  }

  // Runs the queries with a filter passing `per_million`; returns mean recall.
  // With `list_passing`, the query also lists the passing labels.
  static double Run(uint64_t per_million, bool tell_passing, bool list_passing = false) {
    LabelFilter filter = [per_million](Label l) { return InSubset(l, per_million); };
    size_t passing = 0;
    std::vector<Label> passing_labels;
    for (size_t i = 0; i < kFilterCorpus; ++i) {
      passing += filter(i);
      if (filter(i)) passing_labels.push_back(i);
    }
    double recall = 0;
    for (int q = 0; q < kQueries; ++q) {
      const std::vector<float>& v = (*vectors_)[kFilterCorpus + q];
      VectorQuery query{v, 10, &filter};
      if (tell_passing) query.passing = passing;
      if (list_passing) query.passing_labels = passing_labels;
      auto hits = index_->Search(query);
      auto truth = exact_->Search(query);
      EXPECT_TRUE(hits.ok() && truth.ok());
      EXPECT_EQ(hits->size(), std::min<size_t>(10, passing)) << "rate " << per_million;
      for (const VectorHit& h : *hits) EXPECT_TRUE(filter(h.label));
      size_t found = 0;
      for (const VectorHit& t : *truth) {
        for (const VectorHit& h : *hits) found += h.label == t.label;
      }
      recall += truth->empty() ? 1.0 : double(found) / double(truth->size());
    }
    return recall / kQueries;
  }

  static std::vector<std::vector<float>>* vectors_;
  static VectorIndex* index_;
  static VectorIndex* exact_;
};
template <class A>
std::vector<std::vector<float>>* FilteredSearchTest<A>::vectors_ = nullptr;
template <class A>
VectorIndex* FilteredSearchTest<A>::index_ = nullptr;
template <class A>
VectorIndex* FilteredSearchTest<A>::exact_ = nullptr;

TYPED_TEST_SUITE(FilteredSearchTest, Adapters);

TYPED_TEST(FilteredSearchTest, FiftyPercent) { EXPECT_GE(this->Run(500000, true), 0.9); }
TYPED_TEST(FilteredSearchTest, TwentyPercent) { EXPECT_GE(this->Run(200000, true), 0.9); }
TYPED_TEST(FilteredSearchTest, FivePercent) { EXPECT_GE(this->Run(50000, true), 0.9); }
TYPED_TEST(FilteredSearchTest, TenthOfAPercent) { EXPECT_GE(this->Run(1000, true), 0.9); }
// Listing the passing labels changes nothing in the answer.
TYPED_TEST(FilteredSearchTest, ListedPassingLabels) {
  EXPECT_GE(this->Run(50000, true, true), 0.9);
  EXPECT_GE(this->Run(1000, true, true), 0.9);
}
// Without a passing estimate the adapter must still return min(k, passing).
TYPED_TEST(FilteredSearchTest, UnknownPassingCount) {
  EXPECT_GE(this->Run(1000, false), 0.9);
  EXPECT_GE(this->Run(50000, false), 0.9);
}

// An estimate of "all pass" sends HNSW through the graph at every rate.
TYPED_TEST(FilteredSearchTest, GraphPlanAtEveryRate) {
  for (uint64_t per_million : {500000, 200000, 50000, 1000}) {
    LabelFilter filter = [per_million](Label l) { return InSubset(l, per_million); };
    size_t passing = 0;
    for (size_t i = 0; i < kFilterCorpus; ++i) passing += filter(i);
    double recall = 0;
    for (int q = 0; q < kQueries; q += 4) {
      VectorQuery query{(*this->vectors_)[kFilterCorpus + q], 10, &filter, kFilterCorpus};
      auto hits = this->index_->Search(query);
      query.passing = passing;
      auto truth = this->exact_->Search(query);
      ASSERT_TRUE(hits.ok() && truth.ok());
      ASSERT_EQ(hits->size(), std::min<size_t>(10, passing));
      size_t found = 0;
      for (const VectorHit& t : *truth) {
        for (const VectorHit& h : *hits) found += h.label == t.label;
      }
      recall += double(found) / double(truth->size()) / (kQueries / 4);
    }
    EXPECT_GE(recall, 0.9) << per_million;
  }
}

TYPED_TEST(FilteredSearchTest, OverstatedPassingCount) {
  // Three labels pass, the caller claims 5000 might.
  LabelFilter three = [](Label l) { return l == 5 || l == 500 || l == 1500; };
  VectorQuery query{(*this->vectors_)[kFilterCorpus], 10, &three, 5000};
  auto hits = this->index_->Search(query);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 3u);
}

}  // namespace
}  // namespace basalt::rag
