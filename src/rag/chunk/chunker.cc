#include "rag/chunk/chunker.h"

#include "rag/chunk/markdown.h"
#include "rag/chunk/spans.h"
#include "rag/chunk/units.h"

namespace basalt::rag {
namespace {

using chunk_internal::Span;
using chunk_internal::Unit;

Span Whole(const Extracted& doc) { return {0, doc.text.size()}; }

void AppendChunk(const Extracted& doc, Span span, std::vector<Chunk>* out) {
  if (auto chunk = chunk_internal::MakeChunk(doc, span)) out->push_back(std::move(*chunk));
}

std::vector<Chunk> SentenceChunks(const Extracted& doc, int max_tokens) {
  const std::vector<Unit> units = chunk_internal::SentenceUnits(
      doc.text, Whole(doc), chunk_internal::HeadingLineStarts(doc), max_tokens);
  std::vector<Chunk> chunks;
  for (Span span : chunk_internal::PackUnits(units, max_tokens, /*overlap_sentence=*/true)) {
    AppendChunk(doc, span, &chunks);
  }
  return chunks;
}

std::vector<Chunk> FixedSizeChunks(const Extracted& doc, const ChunkingConfig& config) {
  std::vector<Unit> windows;
  const int overlap = config.max_tokens * config.overlap_percentage / 100;
  chunk_internal::AppendWindows(doc.text, chunk_internal::Trim(doc.text, Whole(doc)),
                                config.max_tokens, overlap, &windows);
  std::vector<Chunk> chunks;
  chunks.reserve(windows.size());
  for (const Unit& w : windows) AppendChunk(doc, {w.begin, w.end}, &chunks);
  return chunks;
}

std::vector<Chunk> HierarchicalChunks(const Extracted& doc, const ChunkingConfig& config) {
  const std::vector<Unit> units = chunk_internal::SentenceUnits(
      doc.text, Whole(doc), chunk_internal::HeadingLineStarts(doc), config.parent_max_tokens);
  std::vector<Chunk> chunks;
  std::vector<Unit> children;
  for (Span parent_span :
       chunk_internal::PackUnits(units, config.parent_max_tokens, /*overlap_sentence=*/false)) {
    auto parent = chunk_internal::MakeChunk(doc, parent_span);
    if (!parent) continue;
    parent->searchable = false;
    const int parent_index = static_cast<int>(chunks.size());
    const Span inside{parent->begin, parent->end};
    chunks.push_back(std::move(*parent));
    children.clear();
    chunk_internal::AppendWindows(doc.text, inside, config.child_max_tokens, config.overlap_tokens,
                                  &children);
    for (const Unit& w : children) {
      auto child = chunk_internal::MakeChunk(doc, {w.begin, w.end});
      if (!child) continue;
      child->parent = parent_index;
      chunks.push_back(std::move(*child));
    }
  }
  return chunks;
}

}  // namespace

absl::StatusOr<std::vector<Chunk>> ChunkDocument(const Extracted& doc,
                                                 const ChunkingConfig& config) {
  if (auto s = ValidateChunkingConfig(config); !s.ok()) return s;
  switch (config.strategy) {
    case ChunkingStrategy::kDefault: return SentenceChunks(doc, config.max_tokens);
    case ChunkingStrategy::kFixedSize: return FixedSizeChunks(doc, config);
    case ChunkingStrategy::kHierarchical: return HierarchicalChunks(doc, config);
    case ChunkingStrategy::kMarkdown: return chunk_internal::MarkdownChunks(doc, config.max_tokens);
    case ChunkingStrategy::kNone: {
      std::vector<Chunk> chunks;
      AppendChunk(doc, Whole(doc), &chunks);
      return chunks;
    }
    case ChunkingStrategy::kSemantic: break;
  }
  return absl::InvalidArgumentError(
      "chunkingConfiguration.chunkingStrategy: SEMANTIC needs the embedder: use SemanticUnits "
      "and SemanticChunks");
}

}  // namespace basalt::rag
