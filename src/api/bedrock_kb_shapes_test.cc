#include "api/bedrock_kb_shapes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace basalt::api::bedrock_kb {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string MessageOf(const absl::Status& s) { return std::string(s.message()); }

json KbBody() {
  return json::parse(R"({
    "name": "docs", "description": "d", "roleArn": "arn:aws:iam::123456789012:role/kb",
    "knowledgeBaseConfiguration": {"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {
      "embeddingModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"}},
    "storageConfiguration": {"type": "OPENSEARCH_SERVERLESS"}})");
}

TEST(BedrockKbShapes, ModelIdFromArn) {
  EXPECT_EQ(ModelIdFromArn("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1"),
            "anthropic.claude-v2:1");
  EXPECT_EQ(ModelIdFromArn("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x-v1:0"),
            "us.x-v1:0");
  EXPECT_EQ(ModelIdFromArn("builtin-embed"), "builtin-embed");
  EXPECT_EQ(ModelIdFromArn("arn:broken"), "arn:broken");
}

TEST(BedrockKbShapes, Utf16OffsetsCountSurrogatePairs) {
  const std::string text = "a\xC3\xA9" "b\xF0\x9F\x98\x80" "c";  // a é b 😀 c
  EXPECT_EQ(Utf16Offset(text, 0), 0u);
  EXPECT_EQ(Utf16Offset(text, 1), 1u);
  EXPECT_EQ(Utf16Offset(text, 3), 2u);  // after é (2 bytes, 1 unit)
  EXPECT_EQ(Utf16Offset(text, 8), 5u);  // after 😀 (4 bytes, 2 units)
  EXPECT_EQ(Utf16Offset(text, 99), 6u);
}

TEST(BedrockKbShapes, CreateKnowledgeBaseMapsTheEmbeddingModel) {
  absl::StatusOr<rag::KnowledgeBase> kb = ParseCreateKnowledgeBase(KbBody());
  ASSERT_TRUE(kb.ok()) << kb.status();
  EXPECT_EQ(kb->name, "docs");
  EXPECT_EQ(kb->config.embedding_model, "amazon.titan-embed-text-v2:0");
  EXPECT_EQ(kb->role_arn, "arn:aws:iam::123456789012:role/kb");
  kb->id = "ABCDEFGHIJ";
  kb->config.dimensions = 384;
  kb->created_ms = kb->updated_ms = 1700000000000;
  json out = RenderKnowledgeBase(*kb, ArnContext{"us-east-1", "000000000000"});
  EXPECT_EQ(out["knowledgeBaseArn"], "arn:aws:bedrock:us-east-1:000000000000:knowledge-base/ABCDEFGHIJ");
  EXPECT_EQ(out["knowledgeBaseConfiguration"]["vectorKnowledgeBaseConfiguration"]["embeddingModelArn"],
            KbBody()["knowledgeBaseConfiguration"]["vectorKnowledgeBaseConfiguration"]["embeddingModelArn"]);
  EXPECT_EQ(out["storageConfiguration"]["type"], "OPENSEARCH_SERVERLESS");
  EXPECT_EQ(out["createdAt"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(out["status"], "ACTIVE");
}

TEST(BedrockKbShapes, CreateKnowledgeBaseErrorsNameTheField) {
  json body = KbBody();
  body.erase("roleArn");
  EXPECT_EQ(MessageOf(ParseCreateKnowledgeBase(body).status()), "roleArn: is required");
  body = KbBody();
  body["knowledgeBaseConfiguration"]["type"] = "KENDRA";
  EXPECT_THAT(MessageOf(ParseCreateKnowledgeBase(body).status()),
              StartsWith("knowledgeBaseConfiguration.type: "));
  body = KbBody();
  body["knowledgeBaseConfiguration"]["vectorKnowledgeBaseConfiguration"].erase("embeddingModelArn");
  EXPECT_EQ(MessageOf(ParseCreateKnowledgeBase(body).status()),
            "knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn: is required");
}

TEST(BedrockKbShapes, DataSources) {
  json body = {{"name", "inline-docs"}, {"dataSourceConfiguration", {{"type", "CUSTOM"}}},
               {"vectorIngestionConfiguration",
                {{"chunkingConfiguration",
                  {{"chunkingStrategy", "FIXED_SIZE"},
                   {"fixedSizeChunkingConfiguration", {{"maxTokens", 100}, {"overlapPercentage", 10}}}}}}}};
  absl::StatusOr<DataSourceDraft> draft = ParseCreateDataSource(body, "KB");
  ASSERT_TRUE(draft.ok()) << draft.status();
  EXPECT_EQ(draft->source.type, "CUSTOM");
  ASSERT_TRUE(draft->chunking.has_value());
  EXPECT_EQ((*draft->chunking)["chunkingStrategy"], "FIXED_SIZE");
  draft->source.id = "DS";
  json out = RenderDataSource(draft->source);
  EXPECT_EQ(out["vectorIngestionConfiguration"]["chunkingConfiguration"]["chunkingStrategy"], "FIXED_SIZE");
  EXPECT_EQ(out["dataSourceConfiguration"]["type"], "CUSTOM");

  body["vectorIngestionConfiguration"]["chunkingConfiguration"]["fixedSizeChunkingConfiguration"]
      ["maxTokens"] = 0;
  EXPECT_THAT(MessageOf(ParseCreateDataSource(body, "KB").status()),
              StartsWith("vectorIngestionConfiguration.chunkingConfiguration"));

  json s3 = {{"name", "dir"},
             {"dataSourceConfiguration",
              {{"type", "S3"}, {"s3Configuration", {{"bucketArn", "arn:aws:s3:::bucket"}}}}}};
  EXPECT_THAT(MessageOf(ParseCreateDataSource(s3, "KB").status()),
              StartsWith("dataSourceConfiguration.s3Configuration.bucketArn: basalt has no S3"));
  s3["dataSourceConfiguration"]["s3Configuration"]["bucketArn"] = "file:///srv/docs";
  draft = ParseCreateDataSource(s3, "KB");
  ASSERT_TRUE(draft.ok()) << draft.status();
  EXPECT_EQ(draft->source.type, "LOCAL_DIRECTORY");
  EXPECT_EQ(draft->source.directory, "/srv/docs");

  rag::DataSource native;  // made through the native API: basalt's DEFAULT is not echoed
  native.extra["chunkingConfiguration"] = {{"chunkingStrategy", "DEFAULT"}};
  EXPECT_FALSE(RenderDataSource(native).contains("vectorIngestionConfiguration"));
}

json TextDoc(const std::string& id, const std::string& text, json attributes = json::array()) {
  json doc = {{"content",
               {{"dataSourceType", "CUSTOM"},
                {"custom",
                 {{"customDocumentIdentifier", {{"id", id}}},
                  {"sourceType", "IN_LINE"},
                  {"inlineContent", {{"type", "TEXT"}, {"textContent", {{"data", text}}}}}}}}}};
  if (!attributes.empty()) {
    doc["metadata"] = {{"type", "IN_LINE_ATTRIBUTE"}, {"inlineAttributes", attributes}};
  }
  return doc;
}

TEST(BedrockKbShapes, IngestDocuments) {
  json attrs = json::parse(R"([
    {"key": "team", "value": {"type": "STRING", "stringValue": "infra"}},
    {"key": "year", "value": {"type": "NUMBER", "numberValue": 2024}},
    {"key": "public", "value": {"type": "BOOLEAN", "booleanValue": true}},
    {"key": "tags", "value": {"type": "STRING_LIST", "stringListValue": ["a", "b"]}},
    {"key": "x-amz-bedrock-kb-source-uri", "value": {"type": "STRING", "stringValue": "s3://b/k.txt"}}])");
  json bytes = TextDoc("b", "");
  bytes["content"]["custom"]["inlineContent"] = {
      {"type", "BYTE"}, {"byteContent", {{"mimeType", "text/html"}, {"data", "PGI+aGk8L2I+"}}}};
  json body = {{"documents", {TextDoc("a", "hello", attrs), bytes}}};
  absl::StatusOr<std::vector<rag::DocumentInput>> docs = ParseIngestDocuments(body, "DS");
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  const rag::DocumentInput& a = (*docs)[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.content, "hello");
  EXPECT_EQ(a.mime_type, "text/plain");
  EXPECT_EQ(a.data_source, "DS");
  EXPECT_EQ(a.source_uri, "s3://b/k.txt");
  EXPECT_EQ(std::get<std::string>(a.attributes.at("team")), "infra");
  EXPECT_EQ(std::get<double>(a.attributes.at("year")), 2024);
  EXPECT_TRUE(std::get<bool>(a.attributes.at("public")));
  EXPECT_EQ(std::get<std::vector<std::string>>(a.attributes.at("tags")).size(), 2u);
  EXPECT_FALSE(a.attributes.contains("x-amz-bedrock-kb-source-uri"));
  EXPECT_EQ((*docs)[1].content, "<b>hi</b>");
  EXPECT_EQ((*docs)[1].mime_type, "text/html");
}

TEST(BedrockKbShapes, IngestErrorsNameTheField) {
  json doc = TextDoc("a", "x");
  doc["content"]["dataSourceType"] = "S3";
  EXPECT_THAT(MessageOf(ParseIngestDocuments({{"documents", {doc}}}, "DS").status()),
              StartsWith("documents[0].content.dataSourceType: S3 is not supported"));
  doc = TextDoc("a", "x");
  doc["content"]["custom"]["sourceType"] = "S3_LOCATION";
  EXPECT_THAT(MessageOf(ParseIngestDocuments({{"documents", {TextDoc("ok", "y"), doc}}}, "DS").status()),
              StartsWith("documents[1].content.custom.sourceType: S3_LOCATION is not supported"));
  doc = TextDoc("a", "x");
  doc["content"]["custom"]["inlineContent"] = {{"type", "BYTE"},
                                               {"byteContent", {{"mimeType", "a/b"}, {"data", "!!"}}}};
  EXPECT_EQ(MessageOf(ParseIngestDocuments({{"documents", {doc}}}, "DS").status()),
            "documents[0].content.custom.inlineContent.byteContent.data: must be base64");
  json dup = json::parse(R"([{"key": "k", "value": {"type": "STRING", "stringValue": "1"}},
                             {"key": "k", "value": {"type": "STRING", "stringValue": "2"}}])");
  EXPECT_THAT(MessageOf(ParseIngestDocuments({{"documents", {TextDoc("a", "x", dup)}}}, "DS").status()),
              StartsWith("documents[0].metadata.inlineAttributes[1].key: "));
  json bad = json::parse(R"([{"key": "n", "value": {"type": "NUMBER", "stringValue": "1"}}])");
  EXPECT_EQ(MessageOf(ParseIngestDocuments({{"documents", {TextDoc("a", "x", bad)}}}, "DS").status()),
            "documents[0].metadata.inlineAttributes[0].value.numberValue: must be a number");
}

TEST(BedrockKbShapes, DocumentIdentifiersAndDetails) {
  json body = json::parse(R"({"documentIdentifiers": [
    {"dataSourceType": "CUSTOM", "custom": {"id": "a"}}, {"dataSourceType": "CUSTOM", "custom": {"id": "b"}}]})");
  absl::StatusOr<std::vector<std::string>> ids = ParseDocumentIdentifiers(body);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b"}));
  body["documentIdentifiers"][1] = {{"dataSourceType", "S3"}, {"s3", {{"uri", "s3://x"}}}};
  EXPECT_THAT(MessageOf(ParseDocumentIdentifiers(body).status()),
              StartsWith("documentIdentifiers[1].dataSourceType: S3 is not supported"));
  rag::DocumentState state;
  state.kb = "KB";
  state.data_source = "DS";
  state.id = "a";
  state.status = rag::kFailed;
  state.reason = "no text";
  state.updated_ms = 1;
  json detail = RenderDocumentDetail(state);
  EXPECT_EQ(detail["identifier"]["custom"]["id"], "a");
  EXPECT_EQ(detail["status"], "FAILED");
  EXPECT_EQ(detail["statusReason"], "no text");
}

TEST(BedrockKbShapes, Retrieve) {
  json body = json::parse(R"({"retrievalQuery": {"text": "q"}, "retrievalConfiguration": {
    "vectorSearchConfiguration": {"numberOfResults": 7, "overrideSearchType": "SEMANTIC",
      "filter": {"andAll": [{"equals": {"key": "a", "value": "x"}}, {"greaterThan": {"key": "n", "value": 1}}]},
      "rerankingConfiguration": {"type": "BEDROCK_RERANKING_MODEL", "bedrockRerankingConfiguration": {
        "numberOfRerankedResults": 3, "modelConfiguration": {"modelArn": "m"}}}}}})");
  absl::StatusOr<RetrieveCall> call = ParseRetrieve(body, "KB");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->request.kb, "KB");
  EXPECT_EQ(call->request.k, 7);
  EXPECT_EQ(call->request.search_type, rag::SearchType::kSemantic);
  EXPECT_TRUE(call->request.filter.has_value());
  EXPECT_TRUE(call->request.rerank);
  EXPECT_EQ(call->reranked_results, 3);

  body["retrievalConfiguration"]["vectorSearchConfiguration"]["filter"] = {{"equals", {{"key", "a"}}}};
  EXPECT_THAT(MessageOf(ParseRetrieve(body, "KB").status()),
              StartsWith("retrievalConfiguration.vectorSearchConfiguration.filter.equals"));
  body["retrievalConfiguration"]["vectorSearchConfiguration"].erase("filter");
  body["retrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"] = 101;
  EXPECT_THAT(MessageOf(ParseRetrieve(body, "KB").status()),
              StartsWith("retrievalConfiguration.vectorSearchConfiguration.numberOfResults: "));
  EXPECT_THAT(MessageOf(ParseRetrieve({{"retrievalQuery", {{"type", "IMAGE"}}}}, "KB").status()),
              StartsWith("retrievalQuery.type: "));
  EXPECT_THAT(MessageOf(ParseRetrieve({{"retrievalQuery", {{"text", "q"}}}, {"nextToken", "t"}}, "KB").status()),
              StartsWith("nextToken: "));
}

TEST(BedrockKbShapes, RetrieveAndGenerate) {
  json body = json::parse(R"({"input": {"text": "why?"}, "sessionId": "ses_1",
    "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
      "knowledgeBaseId": "KB", "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
      "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 4}},
      "generationConfiguration": {"promptTemplate": {"textPromptTemplate": "$search_results$ $query$"},
        "inferenceConfig": {"textInferenceConfig": {"maxTokens": 99, "temperature": 0.5}}}}}})");
  absl::StatusOr<AnswerCall> call = ParseRetrieveAndGenerate(body);
  ASSERT_TRUE(call.ok()) << call.status();
  const rag::AnswerRequest& r = call->request;
  EXPECT_EQ(r.retrieve.kb, "KB");
  EXPECT_EQ(r.retrieve.query, "why?");
  EXPECT_EQ(r.retrieve.k, 4);
  EXPECT_EQ(r.model, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(r.session_id, "ses_1");
  EXPECT_EQ(r.prompt_template, "$search_results$ $query$");
  EXPECT_EQ(r.max_tokens, 99);
  EXPECT_EQ(r.temperature, 0.5);
  body["retrieveAndGenerateConfiguration"]["type"] = "EXTERNAL_SOURCES";
  EXPECT_THAT(MessageOf(ParseRetrieveAndGenerate(body).status()),
              StartsWith("retrieveAndGenerateConfiguration.type: "));
  body.erase("input");
  EXPECT_EQ(MessageOf(ParseRetrieveAndGenerate(body).status()), "input: is required");
}

rag::RetrievedChunk Chunk(std::string text, std::string uri) {
  rag::RetrievedChunk c;
  c.label = 42;
  c.text = std::move(text);
  c.document_id = "doc-1";
  c.data_source = "DS";
  c.source_uri = std::move(uri);
  c.pages = {3, 4};
  c.score = 0.5;
  c.attributes["team"] = std::string("infra");
  return c;
}

TEST(BedrockKbShapes, RetrievalResults) {
  json custom = RenderRetrievalResult(Chunk("text", ""), true);
  EXPECT_EQ(custom["location"], json({{"type", "CUSTOM"}, {"customDocumentLocation", {{"id", "doc-1"}}}}));
  EXPECT_EQ(custom["content"], json({{"type", "TEXT"}, {"text", "text"}}));
  EXPECT_EQ(custom["metadata"]["x-amz-bedrock-kb-chunk-id"], "42");
  EXPECT_EQ(custom["metadata"]["x-amz-bedrock-kb-source-uri"], "doc-1");
  EXPECT_EQ(custom["metadata"]["x-amz-bedrock-kb-data-source-id"], "DS");
  EXPECT_EQ(custom["metadata"]["x-amz-bedrock-kb-document-page-number"], 3);
  EXPECT_EQ(custom["metadata"]["team"], "infra");
  EXPECT_EQ(custom["score"], 0.5);
  json s3 = RenderRetrievalResult(Chunk("t", "s3://b/k"), false);
  EXPECT_EQ(s3["location"], json({{"type", "S3"}, {"s3Location", {{"uri", "s3://b/k"}}}}));
  EXPECT_FALSE(s3.contains("score"));
  json web = RenderRetrievalResult(Chunk("t", "https://x.test/a"), false);
  EXPECT_EQ(web["location"]["webLocation"]["url"], "https://x.test/a");
}

TEST(BedrockKbShapes, CitationSpansAreUtf16) {
  rag::AnswerResult a;
  a.session_id = "s";
  a.text = "\xC3\x89t\xC3\xA9 \xF0\x9F\x98\x80. Paris is big.";  // "Été 😀. Paris is big."
  a.sources.push_back(Chunk("\xC3\xA9 Paris is big.", ""));
  rag::AnswerCitation c;
  c.begin = a.text.find("Paris");
  c.end = a.text.size();
  c.references.push_back({0, a.sources[0].text.find("Paris"), a.sources[0].text.size()});
  a.citations.push_back(c);
  a.confidence = 0.8;
  json out = RenderRetrieveAndGenerate(a);
  const json& part = out["citations"][0]["generatedResponsePart"]["textResponsePart"];
  EXPECT_EQ(part["text"], "Paris is big.");
  EXPECT_EQ(part["span"]["start"], 8);  // É t é space 😀(2) . space
  EXPECT_EQ(part["span"]["end"], 21);
  const json& ref = out["citations"][0]["retrievedReferences"][0];
  EXPECT_EQ(ref["metadata"]["x-basalt-cited-span"], json({{"start", 2}, {"end", 15}}));
  EXPECT_EQ(out["sessionId"], "s");
  EXPECT_EQ(out["basaltConfidence"], 0.8);
}

TEST(BedrockKbShapes, IngestionJobsFilterSortAndRender) {
  std::vector<rag::IngestionJob> jobs(3);
  jobs[0].id = "A", jobs[0].status = "COMPLETE", jobs[0].started_ms = 3;
  jobs[1].id = "B", jobs[1].status = "FAILED", jobs[1].started_ms = 1;
  jobs[2].id = "C", jobs[2].status = "COMPLETE", jobs[2].started_ms = 2;
  json body = json::parse(R"({"filters": [{"attribute": "STATUS", "operator": "EQ", "values": ["COMPLETE"]}],
                              "sortBy": {"attribute": "STARTED_AT", "order": "ASCENDING"}})");
  absl::StatusOr<std::vector<rag::IngestionJob>> out = FilterAndSortJobs(body, jobs);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].id, "C");
  EXPECT_EQ((*out)[1].id, "A");
  json rendered = RenderIngestionJob(jobs[1]);
  EXPECT_EQ(rendered["status"], "FAILED");
  EXPECT_EQ(rendered["statistics"]["numberOfDocumentsScanned"], 0);
  EXPECT_FALSE(rendered.contains("failureReasons"));
  body["sortBy"]["order"] = "SIDEWAYS";
  EXPECT_THAT(MessageOf(FilterAndSortJobs(body, jobs).status()), StartsWith("sortBy.order: "));
}

TEST(BedrockKbShapes, PageRequests) {
  absl::StatusOr<PageRequest> page = ParsePageRequest(json::object());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->max_results, 1000);
  EXPECT_TRUE(page->next_token.empty());
  page = ParsePageRequest({{"maxResults", 2}, {"nextToken", "X"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->max_results, 2);
  EXPECT_EQ(page->next_token, "X");
  EXPECT_THAT(MessageOf(ParsePageRequest({{"maxResults", 0}}).status()), StartsWith("maxResults: "));
}

TEST(BedrockKbShapes, RenameField) {
  absl::Status s = absl::InvalidArgumentError("config.embeddingModel: x cannot embed");
  EXPECT_EQ(MessageOf(RenameField(s, "config.embeddingModel", "a.b")), "a.b: x cannot embed");
  EXPECT_EQ(RenameField(s, "other", "a.b"), s);
}

}  // namespace
}  // namespace basalt::api::bedrock_kb
