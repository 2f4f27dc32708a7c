// The native RAG API (docs/RAG.md), over rag::KnowledgeBaseService:
//   POST/GET        /v1/knowledge-bases                  create, list        kb:write / kb:read
//   GET/PATCH/DELETE /v1/knowledge-bases/{kb}
//   POST/GET        /v1/knowledge-bases/{kb}/data-sources
//   GET/DELETE      /v1/knowledge-bases/{kb}/data-sources/{ds}
//   POST            /v1/knowledge-bases/{kb}/data-sources/{ds}/sync   an ingestion job
//   GET             /v1/knowledge-bases/{kb}/data-sources/{ds}/jobs[/{job}]
//   POST/GET        /v1/knowledge-bases/{kb}/documents   ingest (JSON or multipart), list
//   GET/DELETE      /v1/knowledge-bases/{kb}/documents/{doc}
//   POST            /v1/knowledge-bases/{kb}/retrieve    kb:read
//   POST            /v1/knowledge-bases/{kb}/answer      kb:read (+ the model call's metering)
// The JSON views (KnowledgeBaseView, ...) are shared with the Bedrock layer.
#pragma once

#include <nlohmann/json.hpp>

#include "net/router.h"
#include "rag/kb/service.h"

namespace basalt::api {

void AddRagRoutes(net::Router& router, rag::KnowledgeBaseService& service);

nlohmann::json KnowledgeBaseView(const rag::KnowledgeBase& kb);
nlohmann::json DataSourceView(const rag::DataSource& source);
nlohmann::json DocumentView(const rag::DocumentState& doc);
nlohmann::json IngestionJobView(const rag::IngestionJob& job);
nlohmann::json RetrievedView(const rag::RetrievedChunk& chunk);
nlohmann::json AnswerView(const rag::AnswerResult& answer);

// Byte offset -> character (code point) offset in UTF-8 text.
size_t CharOffset(std::string_view text, size_t byte_offset);

}  // namespace basalt::api
