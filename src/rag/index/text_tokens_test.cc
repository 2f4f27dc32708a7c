#include "rag/index/text_tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace basalt::rag {
namespace {

using ::testing::ElementsAre;

TEST(WordsTest, SplitsLikeUnicode61) {
  EXPECT_THAT(Words("Hello, World! it's 2024-01-02"),
              ElementsAre("hello", "world", "it", "s", "2024", "01", "02"));
  EXPECT_THAT(Words("  \t\n"), ElementsAre());
  EXPECT_THAT(Words("naïve café — über\xE2\x80\x9Cquoted\xE2\x80\x9D"),
              ElementsAre("na\xC3\xAFve", "caf\xC3\xA9",
                          "\xC3\xBC"
                          "ber",
                          "quoted"));
  EXPECT_THAT(Words("a\xFF"
                    "b\xC3"),
              ElementsAre("a", "b"));                               // invalid UTF-8 separates
  EXPECT_THAT(Words("x\xF0\x9F\x98\x80y"), ElementsAre("x", "y"));  // emoji separates
}

TEST(MatchExpressionTest, QuotesEveryWordAndInterpretsNothing) {
  EXPECT_EQ(MatchExpression("cells NEAR(blood) OR \"x\" col:y*"),
            "\"cells\" OR \"near\" OR \"blood\" OR \"or\" OR \"x\" OR \"col\" OR \"y\"");
  EXPECT_EQ(MatchExpression("?!*"), "");
  std::string long_query;
  for (int i = 0; i < 1000; ++i) long_query += "w ";
  std::string match = MatchExpression(long_query);
  size_t words = 0;
  for (size_t at = 0; (at = match.find("\"w\"", at)) != std::string::npos; ++at) ++words;
  EXPECT_EQ(words, kMaxQueryWords);
}

// The stems SQLite's own `porter` tokenizer makes for `words`: one FTS5 row
// per word, read back through fts5vocab's 'instance' table.
std::vector<std::string> SqlitePorter(const std::vector<std::string>& words) {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> closer(db, sqlite3_close);
  EXPECT_EQ(sqlite3_exec(db,
                         "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61');"
                         "CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t(rowid, x) VALUES(?1, ?2)", -1, &insert, nullptr);
  for (size_t i = 0; i < words.size(); ++i) {
    sqlite3_bind_int64(insert, 1, static_cast<int64_t>(i));
    sqlite3_bind_text(insert, 2, words[i].c_str(), -1, SQLITE_STATIC);
    EXPECT_EQ(sqlite3_step(insert), SQLITE_DONE);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  std::vector<std::string> stems(words.size());
  sqlite3_stmt* read = nullptr;
  sqlite3_prepare_v2(db, "SELECT doc, term FROM v", -1, &read, nullptr);
  while (sqlite3_step(read) == SQLITE_ROW) {
    stems[static_cast<size_t>(sqlite3_column_int64(read, 0))] =
        reinterpret_cast<const char*>(sqlite3_column_text(read, 1));
  }
  sqlite3_finalize(read);
  return stems;
}

TEST(PorterStemTest, AgreesWithSqlitesPorterTokenizer) {
  // clang-format off
  const std::vector<std::string> words = {
      "caresses", "ponies", "ties", "caress", "cats", "feed", "agreed", "plastered", "bled",
      "motoring", "sing", "conflated", "troubled", "sized", "hopping", "tanned", "falling",
      "hissing", "fizzed", "failing", "filing", "happy", "sky", "relational", "conditional",
      "rational", "valenci", "hesitanci", "digitizer", "conformabli", "radicalli", "differentli",
      "vileli", "analogousli", "vietnamization", "predication", "operator", "feudalism",
      "decisiveness", "hopefulness", "callousness", "formaliti", "sensitiviti", "sensibiliti",
      "triplicate", "formative", "formalize", "electriciti", "electrical", "hopeful", "goodness",
      "revival", "allowance", "inference", "airliner", "gyroscopic", "adjustable", "defensible",
      "irritant", "replacement", "adjustment", "dependent", "adoption", "homologou", "communism",
      "activate", "angulariti", "homologous", "effective", "bowdlerize", "probate", "rate",
      "cease", "controll", "roll", "generalization", "oscillators", "abilities", "cement",
      "analogies", "archaeology", "cytokines", "apoptosis", "mitochondrial", "expression",
      "regulates", "tumour", "receptors", "inflammatory", "signalling", "yelling", "eyes",
      "syzygy", "abc", "ab", "running", "university", "universal", "agreement", "tional",
      "generously", "sensational", "traditional", "hopelessness", "emotional", "zzz",
      "transformation", "increasingly", "associated", "mice", "patients", "studies",
  };  // clang-format on

  const std::vector<std::string> expected = SqlitePorter(words);
  for (size_t i = 0; i < words.size(); ++i)
    EXPECT_EQ(PorterStem(words[i]), expected[i]) << words[i];
  std::string long_word(70, 'a');
  long_word += "tional";
  EXPECT_EQ(PorterStem(long_word), long_word);  // past 64 bytes: left alone
}

// Every ASCII word of the SciFact corpus stems as SQLite stems it (non-ASCII
// words differ by design: unicode61 folds them before stemming).
TEST(PorterStemTest, AgreesWithSqliteOnSciFact) {
  std::ifstream in(BASALT_SHARED_DIR "/datasets/scifact/corpus.jsonl");
  ASSERT_TRUE(in.is_open());
#if defined(__SANITIZE_ADDRESS__)
  constexpr size_t kLines = 600;  // ~8k words: enough, and ASan is slow
  constexpr size_t kMinWords = 5000;
#else
  constexpr size_t kLines = 1000000;
  constexpr size_t kMinWords = 20000;
#endif
  std::set<std::string> unique;
  size_t lines = 0;
  for (std::string line; lines++ < kLines && std::getline(in, line);) {
    for (std::string& word : Words(line)) {
      if (std::all_of(word.begin(), word.end(), [](char c) { return (c & 0x80) == 0; })) {
        unique.insert(std::move(word));
      }
    }
  }
  ASSERT_GT(unique.size(), kMinWords);
  const std::vector<std::string> words(unique.begin(), unique.end());
  const std::vector<std::string> expected = SqlitePorter(words);
  int mismatches = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    if (PorterStem(words[i]) != expected[i] && ++mismatches <= 10) {
      ADD_FAILURE() << words[i] << ": " << PorterStem(words[i]) << " != " << expected[i];
    }
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace basalt::rag
