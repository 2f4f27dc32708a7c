// The TextIndex contract, run against every adapter: MemoryTextIndex (the
// fake), and Fts5TextIndex in memory and on a file.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "rag/index/fts5_text_index.h"
#include "rag/index/memory_text_index.h"
#include "rag/index/text_tokens.h"
#include "store/sqlite/connection.h"
#include "rag/index/vector_test_util.h"

namespace basalt::rag {
namespace {

using Entry = std::pair<Label, std::string_view>;
using testing::InSubset;

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kCorpus = 1500;
#else
constexpr size_t kCorpus = 6000;
#endif

std::filesystem::path TempDir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("basalt_text_contract_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

struct MemoryAdapter {
  static std::unique_ptr<TextIndex> Open() { return std::make_unique<MemoryTextIndex>(); }
};
struct Fts5MemoryAdapter {
  static std::unique_ptr<TextIndex> Open() {
    auto index = Fts5TextIndex::Open(":memory:");
    EXPECT_TRUE(index.ok()) << index.status();
    return std::move(*index);
  }
};
struct Fts5FileAdapter {
  static std::unique_ptr<TextIndex> Open() {
    static std::atomic<int> n{0};
    std::filesystem::path path = TempDir() / "t.db";
    path.replace_filename(std::to_string(n++) + ".db");
    auto index = Fts5TextIndex::Open(path.string());
    EXPECT_TRUE(index.ok()) << index.status();
    return std::move(*index);
  }
};

// A synthetic corpus with a skewed vocabulary, so BM25 has common and rare
// terms to weigh.
std::vector<std::string> Corpus(size_t n, uint64_t seed) {
  static const char* kWords[] = {
      "cell",          "cells",     "protein",      "gene",     "expression",      "tumour",
      "immune",        "response",  "mice",         "patient",  "patients",        "study",
      "studies",       "risk",      "blood",        "brain",    "receptor",        "signalling",
      "pathway",       "mutation",  "cancer",       "therapy",  "trial",           "dose",
      "effect",        "increased", "reduced",      "binding",  "activity",        "virus",
      "infection",     "vaccine",   "insulin",      "glucose",  "obesity",         "diet",
      "heart",         "kidney",    "liver",        "lung",     "neurons",         "memory",
      "sleep",         "stress",    "ageing",       "stem",     "differentiation", "apoptosis",
      "mitochondrial", "oxidative", "inflammation", "cytokine", "antibody",        "antigen",
      "bacteria",      "resistance"};
  constexpr size_t kVocabulary = sizeof(kWords) / sizeof(kWords[0]);
  std::mt19937_64 rng(seed);
  std::vector<std::string> docs(n);
  for (std::string& doc : docs) {
    const size_t length = 8 + rng() % 40;
    for (size_t i = 0; i < length; ++i) {
      // Squared uniform: low indexes are common.
      double u = std::uniform_real_distribution<double>(0, 1)(rng);
      doc += kWords[static_cast<size_t>(u * u * kVocabulary) % kVocabulary];
      doc += i % 7 == 6 ? ". " : " ";
    }
  }
  return docs;
}

template <class Adapter>
class TextIndexContractTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(TempDir()); }
};

using Adapters = ::testing::Types<MemoryAdapter, Fts5MemoryAdapter, Fts5FileAdapter>;
TYPED_TEST_SUITE(TextIndexContractTest, Adapters);

std::vector<Label> Labels(const absl::StatusOr<std::vector<TextHit>>& hits) {
  EXPECT_TRUE(hits.ok()) << hits.status();
  std::vector<Label> out;
  if (!hits.ok()) return out;
  for (const TextHit& h : *hits) out.push_back(h.label);
  return out;
}

TYPED_TEST(TextIndexContractTest, AddSearchRemove) {
  auto index = TypeParam::Open();
  std::vector<Entry> entries = {{1, "The cat sat on the mat."},
                                {2, "Dogs chase cats around the garden."},
                                {3, "A treatise on the economics of garden gnomes."}};
  ASSERT_TRUE(index->Add(entries).ok());
  EXPECT_EQ(index->size(), 3u);

  auto hits = index->Search({"cats", 10});  // stemmed: cat, cats
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 2u);
  for (const TextHit& h : *hits) EXPECT_GT(h.score, 0);
  EXPECT_GE((*hits)[0].score, (*hits)[1].score);
  EXPECT_EQ(Labels(index->Search({"garden economics", 1})), std::vector<Label>{3});

  std::vector<Entry> remove = {{2, "Dogs chase cats around the garden."}, {99, "absent"}};
  ASSERT_TRUE(index->Remove(remove).ok());
  EXPECT_EQ(index->size(), 2u);
  EXPECT_EQ(Labels(index->Search({"dogs chase", 10})), std::vector<Label>{});
  EXPECT_EQ(Labels(index->Search({"cat", 10})), std::vector<Label>{1});
  ASSERT_TRUE(index->Remove(remove).ok());  // already gone: fine
}

TYPED_TEST(TextIndexContractTest, SameTextIsANoOpOtherTextIsRefused) {
  auto index = TypeParam::Open();
  std::vector<Entry> first = {{1, "alpha beta"}, {2, "gamma delta"}};
  ASSERT_TRUE(index->Add(first).ok());
  ASSERT_TRUE(index->Add(first).ok());  // a retried batch
  EXPECT_EQ(index->size(), 2u);

  std::vector<Entry> changed = {{3, "epsilon"}, {1, "alpha changed"}};
  absl::Status s = index->Add(changed);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("label 1"), std::string::npos) << s;
  EXPECT_EQ(index->size(), 2u);  // the whole batch was refused
  EXPECT_EQ(Labels(index->Search({"epsilon", 5})), std::vector<Label>{});

  std::vector<Entry> wrong = {{2, "not what was added"}};
  EXPECT_EQ(index->Remove(wrong).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Labels(index->Search({"gamma", 5})), std::vector<Label>{2});
  std::vector<Entry> right = {{1, "alpha beta"}};
  ASSERT_TRUE(index->Remove(right).ok());
  std::vector<Entry> re_add = {{1, "alpha changed"}};
  ASSERT_TRUE(index->Add(re_add).ok());
  EXPECT_EQ(Labels(index->Search({"changed", 5})), std::vector<Label>{1});
}

TYPED_TEST(TextIndexContractTest, QueriesAreWordsNeverSyntax) {
  auto index = TypeParam::Open();
  std::vector<Entry> entries = {{1, "near the column, or not"}, {2, "AND star"}};
  ASSERT_TRUE(index->Add(entries).ok());
  for (std::string_view q : {"NEAR(", "\"unbalanced", "col:umn", "*", "^start", "a OR", "NOT",
                             "-minus", "(((", "x AND", "{}", "''"}) {
    auto hits = index->Search({q, 5});
    EXPECT_TRUE(hits.ok()) << q << ": " << hits.status();
  }
  EXPECT_EQ(Labels(index->Search({"NOT", 5})), std::vector<Label>{1});
  EXPECT_EQ(Labels(index->Search({"and", 5})), std::vector<Label>{2});
  EXPECT_TRUE(Labels(index->Search({"  ?!  ", 5})).empty());
  EXPECT_TRUE(Labels(index->Search({"", 5})).empty());
  EXPECT_EQ(index->Search({"star", 0}).status().code(), absl::StatusCode::kInvalidArgument);
}

// A filtered search returns the top passing hits in BM25 order: exactly what
// the unfiltered ranking holds once the non-passing are struck out.
TYPED_TEST(TextIndexContractTest, FiltersNeverLoseResults) {
  auto index = TypeParam::Open();
  std::vector<std::string> docs = Corpus(kCorpus, 3);
  std::vector<Entry> entries;
  for (size_t i = 0; i < docs.size(); ++i) entries.push_back({i, docs[i]});
  ASSERT_TRUE(index->Add(entries).ok());
  for (uint64_t per_million : {500000, 50000, 1000}) {
    LabelFilter filter = [per_million](Label l) { return InSubset(l, per_million); };
    size_t passing = 0;
    for (size_t i = 0; i < docs.size(); ++i) passing += filter(i);
    for (std::string_view q : {"kidney insulin", "bacteria resistance antibody", "cell"}) {
      auto all = index->Search({q, 1000000});
      ASSERT_TRUE(all.ok());
      std::vector<TextHit> expected;
      for (const TextHit& h : *all) {
        if (filter(h.label) && expected.size() < 10) expected.push_back(h);
      }
      auto hits = index->Search({q, 10, &filter, passing});
      ASSERT_TRUE(hits.ok());
      ASSERT_EQ(hits->size(), expected.size()) << q << " at " << per_million;
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_TRUE(filter((*hits)[i].label));
        EXPECT_FLOAT_EQ((*hits)[i].score, expected[i].score) << q << " #" << i;
      }
      if (per_million >= 50000) {
        EXPECT_EQ(hits->size(), 10u) << q;
      }
      // Listing the passing labels gives the same answer.
      std::vector<Label> listed;
      for (size_t i = 0; i < docs.size(); ++i) {
        if (filter(i)) listed.push_back(i);
      }
      TextQuery with_list{q, 10, &filter, passing};
      with_list.passing_labels = listed;
      auto same = index->Search(with_list);
      ASSERT_TRUE(same.ok());
      ASSERT_EQ(same->size(), hits->size()) << q << " at " << per_million;
      for (size_t i = 0; i < hits->size(); ++i) {
        EXPECT_EQ((*same)[i].label, (*hits)[i].label) << q << " #" << i;
        EXPECT_FLOAT_EQ((*same)[i].score, (*hits)[i].score) << q << " #" << i;
      }
    }
  }
}

TYPED_TEST(TextIndexContractTest, ConcurrentSearchDuringAdds) {
  auto index = TypeParam::Open();
  std::vector<std::string> docs = Corpus(600, 8);
  std::vector<Entry> seed = {{100000, "cell kidney"}};
  ASSERT_TRUE(index->Add(seed).ok());
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (size_t i = 0; i < docs.size(); i += 20) {
      std::vector<Entry> batch;
      for (size_t j = i; j < std::min(docs.size(), i + 20); ++j) batch.push_back({j, docs[j]});
      if (!index->Add(batch).ok()) failures++;
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      LabelFilter even = [](Label l) { return l % 2 == 0; };
      while (!done.load()) {
        auto hits = index->Search({"cell kidney", 5, &even});
        if (!hits.ok() || hits->empty()) failures++;
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(index->size(), docs.size() + 1);
}

TEST(Fts5TextIndexTest, ReopensWithItsEntries) {
  const std::string path = (TempDir() / "reopen.db").string();
  {
    auto index = Fts5TextIndex::Open(path);
    ASSERT_TRUE(index.ok()) << index.status();
    std::vector<Entry> entries = {{1, "persistent words"}, {~Label{0}, "the largest label"}};
    ASSERT_TRUE((*index)->Add(entries).ok());
  }
  auto index = Fts5TextIndex::Open(path);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->size(), 2u);
  EXPECT_EQ(Labels((*index)->Search({"persistent", 5})), std::vector<Label>{1});
  EXPECT_EQ(Labels((*index)->Search({"largest", 5})), std::vector<Label>{~Label{0}});
  std::vector<Entry> remove = {{~Label{0}, "the largest label"}};
  ASSERT_TRUE((*index)->Remove(remove).ok());
  EXPECT_EQ((*index)->size(), 1u);
  std::filesystem::remove_all(TempDir());
}

// The in-memory postings must rank as SQLite's own bm25() over a plain FTS5
// table holding the live texts: after adds, after removals, and after the
// index is reopened (postings loaded from the FTS5 index).
TEST(Fts5TextIndexTest, ScoresAreSqliteBm25) {
  const std::string path = (TempDir() / "bm25.db").string();
  std::vector<std::string> docs = Corpus(600, 7);
  docs.push_back("Ünïcode café naïve CAFÉ résumé, e-mail and co-operate");
  std::vector<Entry> entries;
  for (size_t i = 0; i < docs.size(); ++i) entries.push_back({i * 3 + 1, docs[i]});
  std::vector<Entry> removed;
  for (size_t i = 0; i < entries.size(); i += 7) removed.push_back(entries[i]);
  auto reference = sqlite::Connection::Open(":memory:", sqlite::Connection::Options{});
  ASSERT_TRUE(reference.ok());
  ASSERT_TRUE((*reference)
                  ->Exec("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='porter unicode61')")
                  .ok());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i % 7 == 0) continue;
    auto insert = (*reference)->Prepare("INSERT INTO t(rowid, text) VALUES(?1, ?2)");
    ASSERT_TRUE(insert.ok());
    ASSERT_TRUE(insert->BindInt(1, static_cast<int64_t>(entries[i].first)).ok());
    ASSERT_TRUE(insert->BindText(2, entries[i].second).ok());
    ASSERT_TRUE(insert->Run().ok());
  }
  auto check = [&](const TextIndex& index) {
    for (std::string_view q : {"kidney insulin", "Studies of patients' blood.", "cell cells cell",
                               "mitochondrial oxidative stress ageing", "cafe CAFÉ naïve",
                               "e-mail", "unmatched zzzz"}) {
      auto got = index.Search({q, 15});
      ASSERT_TRUE(got.ok()) << got.status();
      auto select = (*reference)->Prepare(
          "SELECT rowid, -rank FROM t WHERE t MATCH ?1 ORDER BY rank LIMIT 15");
      ASSERT_TRUE(select.ok());
      const std::string match = MatchExpression(q);  // bound without a copy
      ASSERT_TRUE(select->BindText(1, match).ok());
      std::vector<std::pair<Label, double>> expected;
      while (*select->Step()) {
        expected.emplace_back(static_cast<Label>(select->ColumnInt(0)), select->ColumnDouble(1));
      }
      ASSERT_EQ(got->size(), expected.size()) << q;
      for (size_t i = 0; i < got->size(); ++i) {
        EXPECT_NEAR((*got)[i].score, expected[i].second, 1e-4 * std::abs(expected[i].second)) << q;
        // Labels agree wherever the score is not tied with a neighbour.
        const bool tied = (i > 0 && expected[i - 1].second == expected[i].second) ||
                          (i + 1 < expected.size() && expected[i + 1].second == expected[i].second);
        if (!tied) EXPECT_EQ((*got)[i].label, expected[i].first) << q << " rank " << i;
      }
    }
  };
  {
    auto index = Fts5TextIndex::Open(path);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_TRUE((*index)->Add(entries).ok());
    ASSERT_TRUE((*index)->Remove(removed).ok());
    check(**index);
  }
  auto reopened = Fts5TextIndex::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->size(), entries.size() - removed.size());
  check(**reopened);
  std::filesystem::remove_all(TempDir());
}

TEST(Fts5TextIndexTest, UnopenablePathIsUnavailable) {
  auto index = Fts5TextIndex::Open("/nonexistent-folder/x/index.db");
  EXPECT_EQ(index.status().code(), absl::StatusCode::kUnavailable) << index.status();
}

// The fake ranks as FTS5 does: same tokenizer, stemmer and BM25.
TEST(MemoryTextIndexTest, RanksAsFts5Does) {
  MemoryTextIndex fake;
  auto fts5 = Fts5TextIndex::Open(":memory:");
  ASSERT_TRUE(fts5.ok());
  std::vector<std::string> docs = Corpus(800, 21);
  std::vector<Entry> entries;
  for (size_t i = 0; i < docs.size(); ++i) entries.push_back({i, docs[i]});
  ASSERT_TRUE(fake.Add(entries).ok());
  ASSERT_TRUE((*fts5)->Add(entries).ok());
  for (std::string_view q : {"kidney insulin", "Studies of patients' blood.", "cell cells",
                             "mitochondrial oxidative stress ageing", "unmatched words"}) {
    auto expected = (*fts5)->Search({q, 20});
    auto got = fake.Search({q, 20});
    ASSERT_TRUE(expected.ok() && got.ok());
    ASSERT_EQ(got->size(), expected->size()) << q;
    for (size_t i = 0; i < got->size(); ++i) {
      EXPECT_NEAR((*got)[i].score, (*expected)[i].score, 1e-4 * (*expected)[i].score) << q;
    }
  }
}

}  // namespace
}  // namespace basalt::rag
