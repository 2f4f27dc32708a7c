#include "api/bedrock_kb_api.h"

#include <cctype>

#include "api/bedrock_kb_shapes.h"
#include "core/json.h"
#include "core/status.h"
#include "core/strings.h"
#include "net/eventstream.h"
#include "net/stream_writer.h"

namespace basalt::api {
namespace {

namespace asio = boost::asio;
namespace kb = bedrock_kb;
using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using Reply = asio::awaitable<absl::StatusOr<HttpResponse>>;

struct Deps {
  rag::KnowledgeBaseService* service = nullptr;
  kb::ArnContext arn;
};

constexpr char kEmbeddingArnField[] =
    "knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn";

// The request body as a JSON object; an empty body is {} (a List call with
// no members may send none).
absl::StatusOr<json> Body(const HttpRequest& http) {
  if (http.body().empty()) return json::object();
  absl::StatusOr<json> body = ParseJson(http.body(), "body");
  if (!body.ok()) return body.status();
  if (!body->is_object()) return absl::InvalidArgumentError("body: must be a JSON object");
  return body;
}

HttpResponse Json(int status, const json& body) { return HttpResponse::Json(status, body.dump()); }

std::string Param(const HttpRequest& http, std::string_view name) {
  return std::string(http.Param(name));
}

// The service names an ingested document's id "documents[i].id"; Bedrock's
// field is documents[i].content.custom.customDocumentIdentifier.id.
absl::Status RenameDocumentField(const absl::Status& status) {
  std::string_view m = ToStd(status.message());
  const size_t close = m.find("].id:");
  if (m.rfind("documents[", 0) != 0 || close == std::string_view::npos) return status;
  return absl::Status(status.code(), StrCat(m.substr(0, close + 1),
                                            ".content.custom.customDocumentIdentifier.id",
                                            m.substr(close + 4)));
}

// Bedrock answers 404 for a data source that is not in the knowledge base.
asio::awaitable<absl::Status> CheckDataSource(const HttpRequest& http, const Deps& d) {
  absl::StatusOr<rag::DataSource> source = co_await d.service->GetDataSource(
      http.ctx, Param(http, "knowledgeBaseId"), Param(http, "dataSourceId"));
  co_return source.status();
}

// ---------------------------------------------------------------- knowledge bases

Reply CreateKnowledgeBase(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<rag::KnowledgeBase> draft = kb::ParseCreateKnowledgeBase(*body);
  if (!draft.ok()) co_return draft.status();
  rag::KnowledgeBase value = *std::move(draft);
  absl::StatusOr<rag::KnowledgeBase> made = co_await d.service->CreateKnowledgeBase(http.ctx, value);
  if (!made.ok()) co_return kb::RenameField(made.status(), "config.embeddingModel", kEmbeddingArnField);
  co_return Json(202, {{"knowledgeBase", kb::RenderKnowledgeBase(*made, d.arn)}});
}

Reply ListKnowledgeBases(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<kb::PageRequest> page = kb::ParsePageRequest(*body);
  if (!page.ok()) co_return page.status();
  auto listed = co_await d.service->ListKnowledgeBases(http.ctx, page->next_token, page->max_results);
  if (!listed.ok()) co_return listed.status();
  json summaries = json::array();
  for (const rag::KnowledgeBase& k : listed->items) summaries.push_back(kb::RenderKnowledgeBaseSummary(k));
  json out = {{"knowledgeBaseSummaries", summaries}};
  if (!listed->next.empty()) out["nextToken"] = listed->next;
  co_return Json(200, out);
}

Reply GetKnowledgeBase(HttpRequest& http, Deps d) {
  auto got = co_await d.service->GetKnowledgeBase(http.ctx, Param(http, "knowledgeBaseId"));
  if (!got.ok()) co_return got.status();
  co_return Json(200, {{"knowledgeBase", kb::RenderKnowledgeBase(*got, d.arn)}});
}

Reply UpdateKnowledgeBase(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<json> patch = kb::ParseUpdateKnowledgeBase(*body);
  if (!patch.ok()) co_return patch.status();
  auto updated =
      co_await d.service->UpdateKnowledgeBase(http.ctx, Param(http, "knowledgeBaseId"), *patch);
  if (!updated.ok()) {
    co_return kb::RenameField(updated.status(), "config.embeddingModel", kEmbeddingArnField);
  }
  co_return Json(202, {{"knowledgeBase", kb::RenderKnowledgeBase(*updated, d.arn)}});
}

Reply DeleteKnowledgeBase(HttpRequest& http, Deps d) {
  auto deleted = co_await d.service->DeleteKnowledgeBase(http.ctx, Param(http, "knowledgeBaseId"));
  if (!deleted.ok()) co_return deleted.status();
  co_return Json(202, {{"knowledgeBaseId", deleted->id}, {"status", "DELETING"}});
}

// ---------------------------------------------------------------- data sources

Reply CreateDataSource(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  const std::string kb_id = Param(http, "knowledgeBaseId");
  absl::StatusOr<kb::DataSourceDraft> draft = kb::ParseCreateDataSource(*body, kb_id);
  if (!draft.ok()) co_return draft.status();
  rag::DataSource source = draft->source;
  absl::StatusOr<rag::DataSource> made = co_await d.service->CreateDataSource(http.ctx, source);
  if (!made.ok()) {
    co_return kb::RenameField(made.status(), "dataSourceConfiguration.localDirectory",
                              "dataSourceConfiguration.s3Configuration.bucketArn");
  }
  // Chunking is the knowledge base's in basalt: a change re-indexes it.
  if (draft->chunking.has_value()) {
    auto current = co_await d.service->GetKnowledgeBase(http.ctx, kb_id);
    if (!current.ok()) co_return current.status();
    if (current->config.chunking != *draft->chunking || current->pending_generation > 0) {
      json patch = {{"config", {{"chunking", *draft->chunking}}}};
      auto updated = co_await d.service->UpdateKnowledgeBase(http.ctx, kb_id, patch);
      if (!updated.ok()) {
        co_return kb::RenameField(updated.status(), "config.chunking",
                                  "vectorIngestionConfiguration.chunkingConfiguration");
      }
    }
  }
  co_return Json(200, {{"dataSource", kb::RenderDataSource(*made)}});
}

Reply ListDataSources(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<kb::PageRequest> page = kb::ParsePageRequest(*body);
  if (!page.ok()) co_return page.status();
  auto listed = co_await d.service->ListDataSources(http.ctx, Param(http, "knowledgeBaseId"),
                                                    page->next_token, page->max_results);
  if (!listed.ok()) co_return listed.status();
  json summaries = json::array();
  for (const rag::DataSource& s : listed->items) summaries.push_back(kb::RenderDataSourceSummary(s));
  json out = {{"dataSourceSummaries", summaries}};
  if (!listed->next.empty()) out["nextToken"] = listed->next;
  co_return Json(200, out);
}

Reply GetDataSource(HttpRequest& http, Deps d) {
  auto got = co_await d.service->GetDataSource(http.ctx, Param(http, "knowledgeBaseId"),
                                               Param(http, "dataSourceId"));
  if (!got.ok()) co_return got.status();
  co_return Json(200, {{"dataSource", kb::RenderDataSource(*got)}});
}

Reply DeleteDataSource(HttpRequest& http, Deps d) {
  auto deleted = co_await d.service->DeleteDataSource(http.ctx, Param(http, "knowledgeBaseId"),
                                                      Param(http, "dataSourceId"));
  if (!deleted.ok()) co_return deleted.status();
  co_return Json(202, {{"knowledgeBaseId", deleted->kb},
                       {"dataSourceId", deleted->id},
                       {"status", "DELETING"}});
}

// ---------------------------------------------------------------- documents

json DocumentDetails(const HttpRequest& http, std::vector<rag::DocumentState> docs) {
  json details = json::array();
  for (rag::DocumentState& doc : docs) {
    if (doc.kb.empty()) doc.kb = Param(http, "knowledgeBaseId");
    if (doc.data_source.empty()) doc.data_source = Param(http, "dataSourceId");
    details.push_back(kb::RenderDocumentDetail(doc));
  }
  return details;
}

Reply IngestDocuments(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<std::vector<rag::DocumentInput>> docs =
      kb::ParseIngestDocuments(*body, Param(http, "dataSourceId"));
  if (!docs.ok()) co_return docs.status();
  if (absl::Status s = co_await CheckDataSource(http, d); !s.ok()) co_return s;
  std::vector<rag::DocumentInput> inputs = *std::move(docs);
  auto states = co_await d.service->Ingest(http.ctx, Param(http, "knowledgeBaseId"), std::move(inputs));
  if (!states.ok()) co_return RenameDocumentField(states.status());
  co_return Json(202, {{"documentDetails", DocumentDetails(http, *std::move(states))}});
}

Reply GetDocuments(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<std::vector<std::string>> ids = kb::ParseDocumentIdentifiers(*body);
  if (!ids.ok()) co_return ids.status();
  if (absl::Status s = co_await CheckDataSource(http, d); !s.ok()) co_return s;
  std::vector<std::string> wanted = *std::move(ids);
  auto states = co_await d.service->GetDocuments(http.ctx, Param(http, "knowledgeBaseId"),
                                                 Param(http, "dataSourceId"), std::move(wanted));
  if (!states.ok()) co_return states.status();
  co_return Json(200, {{"documentDetails", DocumentDetails(http, *std::move(states))}});
}

Reply ListDocuments(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<kb::PageRequest> page = kb::ParsePageRequest(*body);
  if (!page.ok()) co_return page.status();
  if (absl::Status s = co_await CheckDataSource(http, d); !s.ok()) co_return s;
  auto listed = co_await d.service->ListDocuments(http.ctx, Param(http, "knowledgeBaseId"),
                                                  Param(http, "dataSourceId"), page->next_token,
                                                  page->max_results);
  if (!listed.ok()) co_return listed.status();
  json out = {{"documentDetails", DocumentDetails(http, std::move(listed->items))}};
  if (!listed->next.empty()) out["nextToken"] = listed->next;
  co_return Json(200, out);
}

Reply DeleteDocuments(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<std::vector<std::string>> ids = kb::ParseDocumentIdentifiers(*body);
  if (!ids.ok()) co_return ids.status();
  if (absl::Status s = co_await CheckDataSource(http, d); !s.ok()) co_return s;
  std::vector<std::string> doomed = *std::move(ids);
  auto states = co_await d.service->DeleteDocuments(http.ctx, Param(http, "knowledgeBaseId"),
                                                    Param(http, "dataSourceId"), std::move(doomed));
  if (!states.ok()) co_return states.status();
  co_return Json(202, {{"documentDetails", DocumentDetails(http, *std::move(states))}});
}

// ---------------------------------------------------------------- ingestion jobs

Reply StartIngestionJob(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  auto job = co_await d.service->StartIngestionJob(http.ctx, Param(http, "knowledgeBaseId"),
                                                   Param(http, "dataSourceId"));
  if (!job.ok()) co_return job.status();
  co_return Json(202, {{"ingestionJob", kb::RenderIngestionJob(*job)}});
}

Reply GetIngestionJob(HttpRequest& http, Deps d) {
  auto job = co_await d.service->GetIngestionJob(http.ctx, Param(http, "knowledgeBaseId"),
                                                 Param(http, "dataSourceId"),
                                                 Param(http, "ingestionJobId"));
  if (!job.ok()) co_return job.status();
  co_return Json(200, {{"ingestionJob", kb::RenderIngestionJob(*job)}});
}

Reply ListIngestionJobs(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<kb::PageRequest> page = kb::ParsePageRequest(*body);
  if (!page.ok()) co_return page.status();
  size_t offset = 0;
  if (!page->next_token.empty() && !absl::SimpleAtoi(page->next_token, &offset)) {
    co_return absl::InvalidArgumentError("nextToken: not a token this API returned");
  }
  auto jobs = co_await d.service->ListIngestionJobs(http.ctx, Param(http, "knowledgeBaseId"),
                                                    Param(http, "dataSourceId"));
  if (!jobs.ok()) co_return jobs.status();
  auto sorted = kb::FilterAndSortJobs(*body, *std::move(jobs));
  if (!sorted.ok()) co_return sorted.status();
  json summaries = json::array();
  const size_t end = std::min(sorted->size(), offset + static_cast<size_t>(page->max_results));
  for (size_t i = offset; i < end; ++i) summaries.push_back(kb::RenderIngestionJobSummary((*sorted)[i]));
  json out = {{"ingestionJobSummaries", summaries}};
  if (end < sorted->size()) out["nextToken"] = std::to_string(end);
  co_return Json(200, out);
}

// ---------------------------------------------------------------- runtime

Reply Retrieve(HttpRequest& http, Deps d) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<kb::RetrieveCall> call = kb::ParseRetrieve(*body, Param(http, "knowledgeBaseId"));
  if (!call.ok()) co_return call.status();
  rag::RetrieveRequest request = call->request;
  auto found = co_await d.service->Retrieve(http.ctx, std::move(request));
  if (!found.ok()) {
    co_return kb::RenameField(found.status(), "numberOfResults",
                              "retrievalConfiguration.vectorSearchConfiguration.numberOfResults");
  }
  std::vector<rag::RetrievedChunk>& chunks = found->chunks;
  if (call->reranked_results && chunks.size() > static_cast<size_t>(*call->reranked_results)) {
    chunks.resize(static_cast<size_t>(*call->reranked_results));
  }
  json results = json::array();
  for (const rag::RetrievedChunk& c : chunks) results.push_back(kb::RenderRetrievalResult(c, true));
  co_return Json(200, {{"retrievalResults", results}});
}

// The answer call's request; numberOfRerankedResults bounds the sources.
absl::StatusOr<rag::AnswerRequest> AnswerRequestOf(const HttpRequest& http) {
  absl::StatusOr<json> body = Body(http);
  if (!body.ok()) return body.status();
  absl::StatusOr<kb::AnswerCall> call = kb::ParseRetrieveAndGenerate(*body);
  if (!call.ok()) return call.status();
  if (call->reranked_results) {
    call->request.retrieve.k = std::min(call->request.retrieve.k, *call->reranked_results);
  }
  return call->request;
}

absl::Status AnswerError(const absl::Status& status) {
  return kb::RenameField(status, "numberOfResults",
                         "retrieveAndGenerateConfiguration.knowledgeBaseConfiguration."
                         "retrievalConfiguration.vectorSearchConfiguration.numberOfResults");
}

Reply RetrieveAndGenerate(HttpRequest& http, Deps d) {
  absl::StatusOr<rag::AnswerRequest> request = AnswerRequestOf(http);
  if (!request.ok()) co_return request.status();
  rag::AnswerRequest value = *std::move(request);
  auto answer = co_await d.service->Answer(http.ctx, std::move(value));
  if (!answer.ok()) co_return AnswerError(answer.status());
  HttpResponse response = Json(200, kb::RenderRetrieveAndGenerate(*answer));
  response.headers.emplace_back("x-basalt-confidence", StrCat(answer->confidence));
  co_return response;
}

// The exception frame AWS SDKs raise from inside an event stream: the
// union member is the AWS error type with a lower-case first letter.
std::string ExceptionFrame(const absl::Status& status) {
  std::string type = AwsErrorTypeOf(status);
  if (!type.empty()) type[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(type[0])));
  return net::EncodeException(type, json{{"message", std::string(ToStd(status.message()))}}.dump());
}

Reply RetrieveAndGenerateStream(HttpRequest& http, Deps d) {
  absl::StatusOr<rag::AnswerRequest> request = AnswerRequestOf(http);
  if (!request.ok()) co_return request.status();
  const std::string asked_session = request->session_id;
  rag::AnswerRequest value = *std::move(request);
  auto opened = co_await d.service->StreamAnswer(http.ctx, std::move(value));
  if (!opened.ok()) co_return AnswerError(opened.status());
  std::shared_ptr<rag::AnswerStream> stream = std::move(*opened);
  HttpResponse response;
  response.content_type = std::string(net::kEventStreamContentType);
  const std::string session = stream->Result().session_id;
  response.headers.emplace_back("x-amzn-bedrock-knowledge-base-session-id",
                                session.empty() ? asked_session : session);
  response.stream = [stream](net::StreamWriter& writer) -> asio::awaitable<absl::Status> {
    for (;;) {
      auto delta = co_await stream->Next();
      if (!delta.ok()) {
        co_await writer.Write(ExceptionFrame(delta.status()));
        co_return delta.status();
      }
      if (!delta->has_value()) break;
      const json output = {{"text", **delta}};
      absl::Status s = co_await writer.Write(net::EncodeEvent("output", output.dump()));
      if (!s.ok()) co_return s;
    }
    const rag::AnswerResult& result = stream->Result();
    for (const rag::AnswerCitation& c : result.citations) {
      json event = kb::RenderCitation(result, c);
      event["citation"] = event;  // the deprecated member, for older clients
      absl::Status s = co_await writer.Write(net::EncodeEvent("citation", event.dump()));
      if (!s.ok()) co_return s;
    }
    co_return absl::OkStatus();
  };
  co_return response;
}

}  // namespace

void AddBedrockKbRoutes(net::Router& router, rag::KnowledgeBaseService& service,
                        std::string region) {
  Deps deps;
  deps.service = &service;
  deps.arn.region = region.empty() ? "local" : std::move(region);
  auto add = [&](const char* method, const char* pattern, Permission permission, auto fn,
                 bool model_call = false) {
    net::RouteOptions options;
    options.error_style = net::ErrorStyle::kAws;
    options.auth = net::AuthScheme::kSigV4;
    options.permission = permission;
    options.cancel_on_disconnect = model_call;
    router.Add(method, pattern, [deps, fn](HttpRequest& r) { return fn(r, deps); }, options);
  };
  const Permission w = Permission::kKbWrite, r = Permission::kKbRead;
  const std::string ds = "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}";
  add("PUT", "/knowledgebases/", w, CreateKnowledgeBase);
  add("POST", "/knowledgebases/", r, ListKnowledgeBases);
  add("GET", "/knowledgebases/{knowledgeBaseId}", r, GetKnowledgeBase);
  add("PUT", "/knowledgebases/{knowledgeBaseId}", w, UpdateKnowledgeBase);
  add("DELETE", "/knowledgebases/{knowledgeBaseId}", w, DeleteKnowledgeBase);
  add("PUT", "/knowledgebases/{knowledgeBaseId}/datasources/", w, CreateDataSource);
  add("POST", "/knowledgebases/{knowledgeBaseId}/datasources/", r, ListDataSources);
  add("GET", ds.c_str(), r, GetDataSource);
  add("DELETE", ds.c_str(), w, DeleteDataSource);
  add("PUT", (ds + "/documents").c_str(), w, IngestDocuments);
  add("POST", (ds + "/documents").c_str(), r, ListDocuments);
  add("POST", (ds + "/documents/getDocuments").c_str(), r, GetDocuments);
  add("POST", (ds + "/documents/deleteDocuments").c_str(), w, DeleteDocuments);
  add("PUT", (ds + "/ingestionjobs/").c_str(), w, StartIngestionJob);
  add("POST", (ds + "/ingestionjobs/").c_str(), r, ListIngestionJobs);
  add("GET", (ds + "/ingestionjobs/{ingestionJobId}").c_str(), r, GetIngestionJob);
  add("POST", "/knowledgebases/{knowledgeBaseId}/retrieve", r, Retrieve);
  add("POST", "/retrieveAndGenerate", r, RetrieveAndGenerate, true);
  add("POST", "/retrieveAndGenerateStream", r, RetrieveAndGenerateStream, true);
}

}  // namespace basalt::api
