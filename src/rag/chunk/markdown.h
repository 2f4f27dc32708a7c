// Internal to chunk/: the MARKDOWN strategy (chunker.h describes it).
#pragma once

#include <vector>

#include "rag/types.h"

namespace basalt::rag::chunk_internal {

std::vector<Chunk> MarkdownChunks(const Extracted& doc, int max_tokens);

}  // namespace basalt::rag::chunk_internal
