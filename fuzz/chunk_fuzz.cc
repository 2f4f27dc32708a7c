// Fuzzer for chunking (src/rag/chunk). Input layout: byte 0 picks the
// strategy, byte 1 the token budget (1..64), byte 2 the overlap; the rest is
// the document text, where lines starting with '#' are headings and form
// feeds separate pages. Every chunk must keep chunker.h's contract: spans in
// range, trimmed, on UTF-8 boundaries (when the text is valid UTF-8), text
// equal to the span (after MARKDOWN's prefix), within the token budget, pages
// as computed the slow way, hierarchical parent links, and every
// non-whitespace byte covered by a searchable chunk. The in-place token
// scanner must agree with the builtin tokenizer. Input starting with '{' is
// also tried as a ChunkingConfiguration, which must round-trip when valid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/builtin/tokenizer.h"
#include "rag/chunk/chunker.h"
#include "rag/chunk/tokens.h"

namespace {

using basalt::rag::Chunk;
using basalt::rag::ChunkingConfig;
using basalt::rag::ChunkingStrategy;
using basalt::rag::Extracted;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool IsWs(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : c >= 0xF5 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if (!IsContinuation(s[i + k])) return false;
    }
    i += n;
  }
  return true;
}

void CheckTokenizer(std::string_view text) {
  Check(basalt::rag::chunk_internal::CountTokens(text) ==
        basalt::models::builtin::CountTokens(text));
  const auto want = basalt::models::builtin::Tokenize(text);
  basalt::models::builtin::TokenSpan t;
  size_t pos = 0;
  size_t i = 0;
  while (basalt::rag::chunk_internal::NextToken(text, pos, &t)) {
    Check(i < want.size() && want[i].begin == t.begin && want[i].end == t.end);
    pos = t.end;
    ++i;
  }
  Check(i == want.size());
}

void CheckConfig(std::string_view data) {
  const auto j = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return;
  auto config = basalt::rag::ParseChunkingConfig(j);
  if (!config.ok()) return;
  const nlohmann::json out = basalt::rag::ChunkingConfigToJson(*config);
  auto again = basalt::rag::ParseChunkingConfig(out);
  Check(again.ok() && basalt::rag::ChunkingConfigToJson(*again) == out);
}

Extracted MakeDoc(std::string_view text) {
  Extracted doc;
  doc.text = std::string(text);
  size_t line = 0;
  while (line < text.size()) {
    size_t nl = text.find('\n', line);
    if (nl == std::string_view::npos) nl = text.size();
    size_t hashes = 0;
    while (line + hashes < nl && text[line + hashes] == '#') ++hashes;
    if (hashes > 0) {
      doc.headings.push_back({static_cast<int>(hashes > 6 ? 6 : hashes), line + hashes, nl});
    }
    line = nl + 1;
  }
  size_t begin = 0;
  int page = 1;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\f') {
      if (text.find('\f') == std::string_view::npos) break;  // unpaged
      doc.pages.push_back({page++, begin, i});
      begin = i + 1;
    }
  }
  return doc;
}

void CheckChunks(const Extracted& doc, const std::vector<Chunk>& chunks,
                 const ChunkingConfig& config) {
  const std::string_view text = doc.text;
  const bool valid = ValidUtf8(text);
  const int64_t bound = config.strategy == ChunkingStrategy::kHierarchical
                            ? config.parent_max_tokens
                            : config.strategy == ChunkingStrategy::kNone ? 0 : config.max_tokens;
  std::vector<bool> covered(text.size(), false);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    Check(c.begin < c.end && c.end <= text.size());
    Check(!IsWs(text[c.begin]) && !IsWs(text[c.end - 1]));
    if (valid) Check(!IsContinuation(text[c.begin]) && (c.end == text.size() || !IsContinuation(text[c.end])));
    const std::string_view span = text.substr(c.begin, c.end - c.begin);
    Check(c.text.size() >= span.size() &&
          std::string_view(c.text).substr(c.text.size() - span.size()) == span);
    if (config.strategy != ChunkingStrategy::kMarkdown) Check(c.text.size() == span.size());
    if (bound > 0) Check(basalt::models::builtin::CountTokens(c.text) <= bound);
    int first = 0;
    int last = 0;
    for (const auto& p : doc.pages) {
      if (p.begin < c.end && p.end > c.begin) {
        if (first == 0) first = p.page;
        last = p.page;
      }
    }
    if (first != 0) Check(c.pages.first == first && c.pages.last == last);
    if (doc.pages.empty()) Check(c.pages.first == 0 && c.pages.last == 0);
    if (config.strategy == ChunkingStrategy::kHierarchical) {
      if (c.searchable) {
        Check(c.parent >= 0 && static_cast<size_t>(c.parent) < i);
        const Chunk& p = chunks[static_cast<size_t>(c.parent)];
        Check(!p.searchable && p.begin <= c.begin && c.end <= p.end);
        Check(basalt::models::builtin::CountTokens(c.text) <= config.child_max_tokens);
      } else {
        Check(c.parent == -1);
      }
    }
    if (c.searchable) {
      for (size_t k = c.begin; k < c.end; ++k) covered[k] = true;
    }
  }
  for (size_t k = 0; k < text.size(); ++k) Check(covered[k] || IsWs(text[k]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == '{') CheckConfig(input);
  if (size < 3) return 0;
  const std::string_view text = input.substr(3);
  CheckTokenizer(text);

  ChunkingConfig config;
  constexpr ChunkingStrategy kStrategies[] = {
      ChunkingStrategy::kDefault, ChunkingStrategy::kFixedSize, ChunkingStrategy::kHierarchical,
      ChunkingStrategy::kNone,    ChunkingStrategy::kMarkdown,  ChunkingStrategy::kSemantic};
  config.strategy = kStrategies[data[0] % 6];
  config.max_tokens = 1 + data[1] % 64;
  config.overlap_percentage = 1 + data[2] % 99;
  config.child_max_tokens = 2 + data[1] % 63;
  config.parent_max_tokens = config.child_max_tokens * (1 + data[0] / 6 % 4);
  config.overlap_tokens = 1 + data[2] % (config.child_max_tokens - 1);
  config.buffer_size = data[2] % 2;
  config.breakpoint_percentile = 50 + data[2] % 50;

  const Extracted doc = MakeDoc(text);
  if (config.strategy == ChunkingStrategy::kSemantic) {
    const auto units = basalt::rag::SemanticUnits(doc, config);
    std::vector<std::vector<float>> vectors;
    for (const auto& u : units) {
      vectors.push_back({static_cast<float>(std::hash<std::string>{}(u.text) % 7), 1.0f});
    }
    auto chunks = basalt::rag::SemanticChunks(doc, units, vectors, config);
    Check(chunks.ok());
    CheckChunks(doc, *chunks, config);
    return 0;
  }
  auto chunks = basalt::rag::ChunkDocument(doc, config);
  Check(chunks.ok());
  CheckChunks(doc, *chunks, config);
  return 0;
}
