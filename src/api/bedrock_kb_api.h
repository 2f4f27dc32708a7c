// Bedrock Knowledge Bases-compatible endpoints over rag::KnowledgeBaseService,
// with the shapes of the bedrock-agent 2023-06-05 and bedrock-agent-runtime
// 2023-07-26 service models (bedrock_kb_shapes.h), AWS error shapes
// (x-amzn-ErrorType + {"message"}) and SigV4, so @aws-sdk/client-bedrock-agent,
// @aws-sdk/client-bedrock-agent-runtime and boto3 work with their endpoint
// pointed at basalt. Every call is scoped to the caller's tenant.
//
// bedrock-agent (kb:write for changes, kb:read for reads):
//   PUT    /knowledgebases/                                 CreateKnowledgeBase (202)
//   POST   /knowledgebases/                                 ListKnowledgeBases
//   GET    /knowledgebases/{knowledgeBaseId}                GetKnowledgeBase
//   PUT    /knowledgebases/{knowledgeBaseId}                UpdateKnowledgeBase (202)
//   DELETE /knowledgebases/{knowledgeBaseId}                DeleteKnowledgeBase (202)
//   PUT    /knowledgebases/{kb}/datasources/                CreateDataSource
//   POST   /knowledgebases/{kb}/datasources/                ListDataSources
//   GET    /knowledgebases/{kb}/datasources/{ds}            GetDataSource
//   DELETE /knowledgebases/{kb}/datasources/{ds}            DeleteDataSource (202)
//   PUT    .../datasources/{ds}/documents                   IngestKnowledgeBaseDocuments (202)
//   POST   .../datasources/{ds}/documents                   ListKnowledgeBaseDocuments
//   POST   .../datasources/{ds}/documents/getDocuments      GetKnowledgeBaseDocuments
//   POST   .../datasources/{ds}/documents/deleteDocuments   DeleteKnowledgeBaseDocuments (202)
//   PUT    .../datasources/{ds}/ingestionjobs/              StartIngestionJob (202)
//   POST   .../datasources/{ds}/ingestionjobs/              ListIngestionJobs
//   GET    .../datasources/{ds}/ingestionjobs/{jobId}       GetIngestionJob
// bedrock-agent-runtime (kb:read):
//   POST   /knowledgebases/{knowledgeBaseId}/retrieve       Retrieve
//   POST   /retrieveAndGenerate                             RetrieveAndGenerate
//   POST   /retrieveAndGenerateStream                       RetrieveAndGenerateStream (event stream)
//
// RetrieveAndGenerate also answers basalt's confidence: the header
// x-basalt-confidence and the top-level member basaltConfidence (SDKs drop
// members they do not model). The stream carries `output` events (text
// deltas) and then one `citation` event per citation; its session id is the
// x-amzn-bedrock-knowledge-base-session-id header.
#pragma once

#include <string>

#include "net/router.h"
#include "rag/kb/service.h"

namespace basalt::api {

// `region` goes into ARNs (knowledge-base and foundation-model ARNs); pass
// the node's configured region.
void AddBedrockKbRoutes(net::Router& router, rag::KnowledgeBaseService& service,
                        std::string region = "local");

}  // namespace basalt::api
