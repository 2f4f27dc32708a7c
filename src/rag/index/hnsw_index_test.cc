// HnswVectorIndex beyond the port's contract: options, growth, and the file
// format's defences (hnswlib's loader trusts its input; ours must not).
#include "rag/index/hnsw_index.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "rag/index/checksum.h"
#include "rag/index/exact_vector_index.h"
#include "rag/index/vector_test_util.h"

namespace basalt::rag {
namespace {

using testing::UnitVectors;

class HnswIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("basalt_hnsw_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "index.hnsw").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<HnswVectorIndex> Open(int d = 16, const std::string& path = "") {
    HnswOptions options;
    options.path = path;
    options.dimensions = d;
    options.initial_capacity = 8;
    auto index = HnswVectorIndex::Open(options);
    EXPECT_TRUE(index.ok()) << index.status();
    return index.ok() ? std::move(*index) : nullptr;
  }

  std::string ReadAll() {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteAll(const std::string& bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  absl::StatusCode Reopen(int d = 16) {
    HnswOptions options;
    options.path = path_;
    options.dimensions = d;
    return HnswVectorIndex::Open(options).status().code();
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(HnswIndexTest, RejectsBadOptions) {
  HnswOptions options;
  options.dimensions = 0;
  auto index = HnswVectorIndex::Open(options);
  EXPECT_EQ(index.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(index.status().message().find("dimensions"), std::string::npos);
  options.dimensions = 4;
  options.m = 1;
  index = HnswVectorIndex::Open(options);
  EXPECT_NE(index.status().message().find("m must be"), std::string::npos) << index.status();
  options.m = 16;
  options.ef_search = 0;
  EXPECT_EQ(HnswVectorIndex::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HnswIndexTest, GrowsPastItsInitialCapacity) {
  auto index = Open();
  auto vectors = UnitVectors(1000, 16, 3);
  for (size_t i = 0; i < vectors.size(); ++i) ASSERT_TRUE(index->Add(i, vectors[i]).ok());
  EXPECT_EQ(index->size(), 1000u);
  int found = 0;
  for (size_t i = 0; i < vectors.size(); i += 10) {
    auto hits = index->Search({vectors[i], 1});
    ASSERT_TRUE(hits.ok());
    found += !hits->empty() && (*hits)[0].label == i;
  }
  EXPECT_GE(found, 95);
}

TEST_F(HnswIndexTest, ExactScanLimit) {
  EXPECT_EQ(HnswVectorIndex::ExactScanLimit(1000), 2000u);
  EXPECT_EQ(HnswVectorIndex::ExactScanLimit(1000000), 250000u);
}

TEST_F(HnswIndexTest, MissingFileStartsEmptyAndSaveNeedsAFolder) {
  auto index = Open(16, path_);
  EXPECT_EQ(index->size(), 0u);
  ASSERT_TRUE(index->Add(1, UnitVectors(1, 16, 1)[0]).ok());
  absl::Status s = index->Save((dir_ / "no" / "such" / "folder.hnsw").string());
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_NE(s.message().find("folder.hnsw"), std::string::npos) << s;
}

TEST_F(HnswIndexTest, CorruptFilesAreDataLoss) {
  {
    auto index = Open();
    auto vectors = UnitVectors(200, 16, 9);
    for (size_t i = 0; i < vectors.size(); ++i) ASSERT_TRUE(index->Add(i, vectors[i]).ok());
    ASSERT_TRUE(index->Save(path_).ok());
  }
  const std::string good = ReadAll();
  ASSERT_GT(good.size(), 1000u);
  ASSERT_EQ(Reopen(), absl::StatusCode::kOk);
  EXPECT_EQ(Reopen(17), absl::StatusCode::kDataLoss);

  for (size_t length : {size_t{0}, size_t{10}, size_t{47}, size_t{48}, size_t{100}, good.size() / 2,
                        good.size() - 1}) {
    WriteAll(good.substr(0, length));
    EXPECT_EQ(Reopen(), absl::StatusCode::kDataLoss) << "truncated to " << length;
  }
  WriteAll(good + "x");
  EXPECT_EQ(Reopen(), absl::StatusCode::kDataLoss) << "trailing byte";

  // Every header byte but the reserved ones, and a spread of payload bytes.
  std::vector<size_t> offsets;
  for (size_t i = 0; i < 40; ++i) offsets.push_back(i);
  for (size_t i = 48; i < good.size(); i += good.size() / 37) offsets.push_back(i);
  offsets.push_back(good.size() - 1);
  for (size_t offset : offsets) {
    std::string bad = good;
    bad[offset] = static_cast<char>(bad[offset] ^ 0x10);
    WriteAll(bad);
    EXPECT_EQ(Reopen(), absl::StatusCode::kDataLoss) << "flipped byte " << offset;
  }

  // Another adapter's file is not ours.
  auto flat = ExactVectorIndex::Open("", 16);
  ASSERT_TRUE((*flat)->Save(path_).ok());
  EXPECT_EQ(Reopen(), absl::StatusCode::kDataLoss);
  WriteAll(good);
  EXPECT_EQ(Reopen(), absl::StatusCode::kOk);
}

TEST_F(HnswIndexTest, RemovedStayRemovedAcrossSaves) {
  auto vectors = UnitVectors(300, 16, 4);
  {
    auto index = Open();
    for (size_t i = 0; i < vectors.size(); ++i) ASSERT_TRUE(index->Add(i, vectors[i]).ok());
    for (size_t i = 0; i < vectors.size(); i += 3) ASSERT_TRUE(index->Remove(i).ok());
    ASSERT_TRUE(index->Save(path_).ok());
  }
  auto index = Open(16, path_);
  EXPECT_EQ(index->size(), 200u);
  auto hits = index->Search({vectors[0], 300});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 200u);
  for (const VectorHit& h : *hits) EXPECT_NE(h.label % 3, 0u);
  ASSERT_TRUE(index->Add(0, vectors[0]).ok());
  hits = index->Search({vectors[0], 1});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].label, 0u);
}

TEST(Checksum64Test, IndependentOfChunking) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  Checksum64 whole;
  whole.Update(data);
  for (size_t step : {1, 3, 8, 31, 32, 33, 999}) {
    Checksum64 parts;
    for (size_t i = 0; i < data.size(); i += step)
      parts.Update(std::string_view(data).substr(i, step));
    EXPECT_EQ(parts.Digest(), whole.Digest()) << step;
  }
  Checksum64 other;
  data[500] ^= 1;
  other.Update(data);
  EXPECT_NE(other.Digest(), whole.Digest());
  Checksum64 empty, zero;
  zero.Update(std::string(1, '\0'));
  EXPECT_NE(empty.Digest(), zero.Digest());
}

}  // namespace
}  // namespace basalt::rag
