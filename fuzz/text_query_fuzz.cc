// Fuzzer for the text adapters' query path: any bytes as a query must give
// words that are non-empty runs without ASCII separators, a MATCH expression
// FTS5 accepts (no query syntax leaks through), and an OK search on both the
// FTS5 adapter and the in-memory fake.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rag/index/fts5_text_index.h"
#include "rag/index/memory_text_index.h"
#include "rag/index/text_tokens.h"

namespace {

using basalt::rag::Label;

template <class Index>
void Fill(Index& index) {
  std::pair<Label, std::string_view> entries[] = {
      {1, "Cells NEAR the column: \"quoted\" text, OR not."},
      {2, "na\xC3\xAFve caf\xC3\xA9 \xE2\x80\x94 r\xC3\xA9sum\xC3\xA9 AND * ^ - ( )"},
      {3, "protein binding increased in mice"}};
  if (!index.Add(entries).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static basalt::rag::Fts5TextIndex* fts5 = [] {
    auto index = basalt::rag::Fts5TextIndex::Open(":memory:");
    if (!index.ok()) std::abort();
    Fill(**index);
    return index->release();
  }();
  static basalt::rag::MemoryTextIndex* fake = [] {
    auto* index = new basalt::rag::MemoryTextIndex();
    Fill(*index);
    return index;
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const std::string& word : basalt::rag::Words(text)) {
    if (word.empty()) std::abort();
    for (char c : word) {
      const bool ascii_alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
      if ((c & 0x80) == 0 && !ascii_alnum) std::abort();
    }
  }
  basalt::rag::LabelFilter odd = [](Label l) { return l % 2 == 1; };
  for (const basalt::rag::TextIndex* index :
       {static_cast<basalt::rag::TextIndex*>(fts5), static_cast<basalt::rag::TextIndex*>(fake)}) {
    if (!index->Search({text, 5}).ok()) std::abort();
    if (!index->Search({text, 2, &odd, 2}).ok()) std::abort();
  }
  return 0;
}
