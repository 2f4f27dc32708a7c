#include "api/rag_api.h"

#include "api/gateway.h"
#include "api/multipart.h"
#include "core/strings.h"
#include "net/stream_writer.h"
#include "rag/answer/prompt.h"
#include "rag/kb/kb_json.h"
#include "rag/kb/rag_db.h"
#include "tenancy/crypto/encoding.h"

namespace basalt::api {
namespace {

using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using Reply = boost::asio::awaitable<absl::StatusOr<HttpResponse>>;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json PagesView(const rag::PageRange& p) {
  if (p.first == 0) return nullptr;
  return {{"first", p.first}, {"last", p.last}};
}

int LimitParam(const HttpRequest& http) {
  std::optional<std::string> limit = http.QueryParam("limit");
  if (!limit) return 100;
  int n = 0;
  if (!absl::SimpleAtoi(*limit, &n)) return 100;
  return n;
}

}  // namespace

size_t CharOffset(std::string_view text, size_t byte_offset) {
  size_t chars = 0;
  for (size_t i = 0; i < byte_offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++chars;
  }
  return chars;
}

json KnowledgeBaseView(const rag::KnowledgeBase& kb) {
  json out = {{"id", kb.id},
              {"name", kb.name},
              {"description", kb.description},
              {"status", kb.status},
              {"config", rag::KbConfigToJson(kb.config)},
              {"generation", kb.generation},
              {"defaultDataSourceId", kb.extra.value("defaultDataSource", "")},
              {"createdAt", kb.created_ms},
              {"updatedAt", kb.updated_ms}};
  if (kb.pending_generation > 0) out["reindexing"] = {{"generation", kb.pending_generation}};
  if (!kb.failure.empty()) out["failure"] = kb.failure;
  return out;
}

json DataSourceView(const rag::DataSource& s) {
  json out = {{"id", s.id},          {"knowledgeBaseId", s.kb}, {"name", s.name},
              {"description", s.description}, {"type", s.type}, {"status", s.status},
              {"createdAt", s.created_ms}, {"updatedAt", s.updated_ms}};
  if (!s.directory.empty()) out["directory"] = s.directory;
  return out;
}

json DocumentView(const rag::DocumentState& d) {
  json out = {{"id", d.id},           {"knowledgeBaseId", d.kb}, {"dataSourceId", d.data_source},
              {"status", d.status},   {"version", d.version},    {"updatedAt", d.updated_ms}};
  if (!d.reason.empty()) out["statusReason"] = d.reason;
  if (!d.mime.empty()) out["mimeType"] = d.mime;
  if (!d.extractor.empty()) out["extractor"] = d.extractor;
  if (d.pages > 0) out["pages"] = d.pages;
  if (d.ocr_pages > 0) out["ocrPages"] = d.ocr_pages;
  if (d.status == rag::kIndexed) out["chunks"] = d.chunks;
  if (!d.source_uri.empty()) out["sourceUri"] = d.source_uri;
  return out;
}

json IngestionJobView(const rag::IngestionJob& j) {
  return {{"id", j.id},
          {"knowledgeBaseId", j.kb},
          {"dataSourceId", j.data_source},
          {"status", j.status},
          {"failures", j.failures},
          {"statistics",
           {{"scanned", j.scanned}, {"newIndexed", j.new_indexed}, {"modifiedIndexed", j.modified_indexed},
            {"deleted", j.deleted}, {"failed", j.failed}, {"unchanged", j.unchanged}}},
          {"startedAt", j.started_ms},
          {"updatedAt", j.updated_ms}};
}

json RetrievedView(const rag::RetrievedChunk& c) {
  return {{"text", c.text},
          {"documentId", c.document_id},
          {"dataSourceId", c.data_source},
          {"sourceUri", c.source_uri},
          {"chunkId", std::to_string(c.label)},
          {"span", {{"start", c.begin}, {"end", c.end}}},
          {"pages", PagesView(c.pages)},
          {"score", c.score},
          {"vectorScore", c.vector_score},
          {"keywordScore", c.text_score},
          {"metadata", rag::AttributesToJson(c.attributes)}};
}

json AnswerView(const rag::AnswerResult& a) {
  json sources = json::array();
  for (size_t i = 0; i < a.sources.size(); ++i) {
    json s = RetrievedView(a.sources[i]);
    s["number"] = i + 1;
    sources.push_back(std::move(s));
  }
  json citations = json::array();
  for (const rag::AnswerCitation& c : a.citations) {
    json refs = json::array();
    for (const rag::CitedReference& r : c.references) {
      if (r.source < 0 || static_cast<size_t>(r.source) >= a.sources.size()) continue;
      const rag::RetrievedChunk& src = a.sources[static_cast<size_t>(r.source)];
      refs.push_back({{"source", r.source + 1},
                      {"documentId", src.document_id},
                      {"text", src.text.substr(r.begin, r.end - r.begin)},
                      {"span", {{"start", CharOffset(src.text, r.begin)}, {"end", CharOffset(src.text, r.end)}}},
                      {"pages", PagesView(src.pages)}});
    }
    citations.push_back({{"text", a.text.substr(c.begin, c.end - c.begin)},
                         {"span", {{"start", CharOffset(a.text, c.begin)}, {"end", CharOffset(a.text, c.end)}}},
                         {"references", refs}});
  }
  return {{"sessionId", a.session_id}, {"answer", a.text},       {"citations", citations},
          {"sources", sources},        {"confidence", a.confidence}, {"grounding", a.grounding},
          {"abstained", a.abstained},  {"model", a.model},
          {"usage", {{"inputTokens", a.input_tokens}, {"outputTokens", a.output_tokens}}}};
}

namespace {

absl::StatusOr<rag::DocumentInput> DocumentFromJson(const json& d, size_t i) {
  std::string field = StrCat("documents[", i, "]");
  if (!d.is_object()) return absl::InvalidArgumentError(StrCat(field, ": must be an object"));
  rag::DocumentInput in;
  in.id = Str(d, "id");
  in.data_source = Str(d, "dataSourceId");
  in.mime_type = Str(d, "mimeType");
  in.source_uri = Str(d, "sourceUri");
  bool has_text = d.contains("text"), has_bytes = d.contains("bytes");
  if (has_text == has_bytes) {
    return absl::InvalidArgumentError(StrCat(field, ": exactly one of text and bytes is required"));
  }
  if (has_text) {
    if (!d["text"].is_string()) return absl::InvalidArgumentError(StrCat(field, ".text: must be a string"));
    in.content = d["text"].get<std::string>();
    if (in.mime_type.empty()) in.mime_type = "text/plain";
  } else {
    std::optional<std::string> bytes =
        d["bytes"].is_string() ? crypto::Base64Decode(d["bytes"].get<std::string>()) : std::nullopt;
    if (!bytes) return absl::InvalidArgumentError(StrCat(field, ".bytes: must be base64"));
    in.content = *std::move(bytes);
  }
  absl::StatusOr<rag::Attributes> attrs =
      rag::AttributesFromJson(d.value("metadata", json::object()), StrCat(field, ".metadata"));
  if (!attrs.ok()) return attrs.status();
  in.attributes = *std::move(attrs);
  return in;
}

// multipart/form-data: each file part is a document (id: the part's filename,
// or the form field "id"); a "metadata" field holds JSON {filename: {k: v}}.
absl::StatusOr<std::vector<rag::DocumentInput>> DocumentsFromMultipart(const HttpRequest& http) {
  absl::StatusOr<std::string> boundary = MultipartBoundary(http.Header("content-type"));
  if (!boundary.ok()) return boundary.status();
  absl::StatusOr<std::vector<FormPart>> parts = ParseMultipart(http.body(), *boundary);
  if (!parts.ok()) return parts.status();
  json metadata = json::object();
  std::string data_source;
  for (const FormPart& p : *parts) {
    if (p.filename.empty() && p.name == "metadata") {
      metadata = json::parse(p.data, nullptr, false);
      if (!metadata.is_object()) return absl::InvalidArgumentError("metadata: must be a JSON object");
    }
    if (p.filename.empty() && p.name == "dataSourceId") data_source = std::string(p.data);
  }
  std::vector<rag::DocumentInput> out;
  for (const FormPart& p : *parts) {
    if (p.filename.empty()) continue;
    rag::DocumentInput in;
    in.id = p.filename;
    in.data_source = data_source;
    in.mime_type = p.content_type;
    in.content = std::string(p.data);
    absl::StatusOr<rag::Attributes> attrs = rag::AttributesFromJson(
        metadata.value(p.filename, json::object()), StrCat("metadata.", p.filename));
    if (!attrs.ok()) return attrs.status();
    in.attributes = *std::move(attrs);
    out.push_back(std::move(in));
  }
  if (out.empty()) return absl::InvalidArgumentError("body: no file parts");
  return out;
}

absl::StatusOr<rag::RetrieveRequest> RetrieveFromJson(const json& body, std::string kb) {
  rag::RetrieveRequest r;
  r.kb = std::move(kb);
  if (!body.contains("query") || !body["query"].is_string()) {
    return absl::InvalidArgumentError("query: must be a string");
  }
  r.query = body["query"].get<std::string>();
  if (body.contains("k")) {
    if (!body["k"].is_number_integer()) return absl::InvalidArgumentError("k: must be an integer");
    r.k = body["k"].get<int>();
  }
  if (body.contains("filter")) r.filter = body["filter"];
  if (body.contains("searchType")) {
    std::string t = Str(body, "searchType");
    if (t == "HYBRID") r.search_type = rag::SearchType::kHybrid;
    else if (t == "SEMANTIC") r.search_type = rag::SearchType::kSemantic;
    else if (t == "KEYWORD") r.search_type = rag::SearchType::kKeyword;
    else return absl::InvalidArgumentError("searchType: must be HYBRID, SEMANTIC or KEYWORD");
  }
  if (body.contains("hybrid")) r.hybrid = body["hybrid"];
  if (body.contains("rerank")) r.rerank = body["rerank"].is_boolean() && body["rerank"].get<bool>();
  return r;
}

Reply CreateKb(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  rag::KnowledgeBase draft;
  draft.name = Str(*body, "name");
  draft.description = Str(*body, "description");
  rag::KbConfig base;
  base.embedding_model.clear();  // unless given: the service's default (rag.embedding_model)
  absl::StatusOr<rag::KbConfig> config =
      rag::KbConfigFromJson(body->value("config", json::object()), base, "config");
  if (!config.ok()) co_return config.status();
  draft.config = *config;
  auto kb = co_await svc.CreateKnowledgeBase(http.ctx, std::move(draft));
  if (!kb.ok()) co_return kb.status();
  co_return HttpResponse::Json(201, KnowledgeBaseView(*kb).dump());
}

Reply ListKbs(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  std::string after = http.QueryParam("after").value_or(std::string());
  auto page = co_await svc.ListKnowledgeBases(http.ctx, after, LimitParam(http));
  if (!page.ok()) co_return page.status();
  json items = json::array();
  for (const auto& kb : page->items) items.push_back(KnowledgeBaseView(kb));
  co_return HttpResponse::Json(200, json{{"knowledgeBases", items}, {"next", page->next}}.dump());
}

Reply GetKb(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto kb = co_await svc.GetKnowledgeBase(http.ctx, std::string(http.Param("kb")));
  if (!kb.ok()) co_return kb.status();
  co_return HttpResponse::Json(200, KnowledgeBaseView(*kb).dump());
}

Reply PatchKb(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto kb = co_await svc.UpdateKnowledgeBase(http.ctx, std::string(http.Param("kb")), *body);
  if (!kb.ok()) co_return kb.status();
  co_return HttpResponse::Json(200, KnowledgeBaseView(*kb).dump());
}

Reply DeleteKb(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto kb = co_await svc.DeleteKnowledgeBase(http.ctx, std::string(http.Param("kb")));
  if (!kb.ok()) co_return kb.status();
  co_return HttpResponse::Json(200, KnowledgeBaseView(*kb).dump());
}

Reply CreateSource(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  rag::DataSource draft;
  draft.kb = std::string(http.Param("kb"));
  draft.name = Str(*body, "name");
  draft.description = Str(*body, "description");
  draft.type = body->contains("directory") ? "LOCAL_DIRECTORY" : "CUSTOM";
  draft.directory = Str(*body, "directory");
  auto s = co_await svc.CreateDataSource(http.ctx, std::move(draft));
  if (!s.ok()) co_return s.status();
  co_return HttpResponse::Json(201, DataSourceView(*s).dump());
}

Reply ListSources(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  std::string kb(http.Param("kb"));
  std::string after = http.QueryParam("after").value_or(std::string());
  auto page = co_await svc.ListDataSources(http.ctx, kb, after, LimitParam(http));
  if (!page.ok()) co_return page.status();
  json items = json::array();
  for (const auto& s : page->items) items.push_back(DataSourceView(s));
  co_return HttpResponse::Json(200, json{{"dataSources", items}, {"next", page->next}}.dump());
}

Reply GetSource(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto s = co_await svc.GetDataSource(http.ctx, std::string(http.Param("kb")), std::string(http.Param("ds")));
  if (!s.ok()) co_return s.status();
  co_return HttpResponse::Json(200, DataSourceView(*s).dump());
}

Reply DeleteSource(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto s = co_await svc.DeleteDataSource(http.ctx, std::string(http.Param("kb")), std::string(http.Param("ds")));
  if (!s.ok()) co_return s.status();
  co_return HttpResponse::Json(200, DataSourceView(*s).dump());
}

Reply SyncSource(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto job = co_await svc.StartIngestionJob(http.ctx, std::string(http.Param("kb")),
                                            std::string(http.Param("ds")));
  if (!job.ok()) co_return job.status();
  co_return HttpResponse::Json(202, IngestionJobView(*job).dump());
}

Reply ListJobs(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto jobs = co_await svc.ListIngestionJobs(http.ctx, std::string(http.Param("kb")),
                                             std::string(http.Param("ds")));
  if (!jobs.ok()) co_return jobs.status();
  json items = json::array();
  for (const auto& j : *jobs) items.push_back(IngestionJobView(j));
  co_return HttpResponse::Json(200, json{{"jobs", items}}.dump());
}

Reply GetJob(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto job = co_await svc.GetIngestionJob(http.ctx, std::string(http.Param("kb")),
                                          std::string(http.Param("ds")), std::string(http.Param("job")));
  if (!job.ok()) co_return job.status();
  co_return HttpResponse::Json(200, IngestionJobView(*job).dump());
}

Reply Ingest(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  std::vector<rag::DocumentInput> docs;
  std::string_view type = http.Header("content-type");
  if (type.rfind("multipart/", 0) == 0) {
    auto parsed = DocumentsFromMultipart(http);
    if (!parsed.ok()) co_return parsed.status();
    docs = *std::move(parsed);
  } else {
    auto body = ParseBody(http);
    if (!body.ok()) co_return body.status();
    const json& list = body->contains("documents") ? (*body)["documents"] : json();
    if (!list.is_array()) co_return absl::InvalidArgumentError("documents: must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      auto d = DocumentFromJson(list[i], i);
      if (!d.ok()) co_return d.status();
      docs.push_back(*std::move(d));
    }
  }
  auto states = co_await svc.Ingest(http.ctx, std::string(http.Param("kb")), std::move(docs));
  if (!states.ok()) co_return states.status();
  json items = json::array();
  for (const auto& s : *states) items.push_back(DocumentView(s));
  co_return HttpResponse::Json(202, json{{"documents", items}}.dump());
}

Reply ListDocs(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  std::string kb(http.Param("kb"));
  std::string source = http.QueryParam("dataSourceId").value_or(std::string());
  std::string after = http.QueryParam("after").value_or(std::string());
  auto page = co_await svc.ListDocuments(http.ctx, kb, source, after, LimitParam(http));
  if (!page.ok()) co_return page.status();
  json items = json::array();
  for (const auto& d : page->items) items.push_back(DocumentView(d));
  co_return HttpResponse::Json(200, json{{"documents", items}, {"next", page->next}}.dump());
}

Reply GetDoc(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  std::string kb(http.Param("kb"));
  std::vector<std::string> ids(1, std::string(http.Param("doc")));
  auto docs = co_await svc.GetDocuments(http.ctx, kb, std::string(), ids);
  if (!docs.ok()) co_return docs.status();
  if (docs->empty() || (*docs)[0].status == rag::kNotFound) {
    co_return absl::NotFoundError(StrCat("document ", http.Param("doc"), " not found"));
  }
  co_return HttpResponse::Json(200, DocumentView((*docs)[0]).dump());
}

Reply DeleteDoc(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  std::string kb(http.Param("kb"));
  std::vector<std::string> ids(1, std::string(http.Param("doc")));
  auto docs = co_await svc.DeleteDocuments(http.ctx, kb, std::string(), ids);
  if (!docs.ok()) co_return docs.status();
  if (docs->empty() || (*docs)[0].status == rag::kNotFound) {
    co_return absl::NotFoundError(StrCat("document ", http.Param("doc"), " not found"));
  }
  co_return HttpResponse::Json(202, DocumentView((*docs)[0]).dump());
}

Reply RetrieveRoute(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto request = RetrieveFromJson(*body, std::string(http.Param("kb")));
  if (!request.ok()) co_return request.status();
  auto result = co_await svc.Retrieve(http.ctx, *std::move(request));
  if (!result.ok()) co_return result.status();
  json items = json::array();
  for (const auto& c : result->chunks) items.push_back(RetrievedView(c));
  co_return HttpResponse::Json(
      200, json{{"results", items}, {"passing", result->passing}, {"generation", result->generation}}.dump());
}

Reply AnswerRoute(HttpRequest& http, rag::KnowledgeBaseService& svc) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto retrieve = RetrieveFromJson(*body, std::string(http.Param("kb")));
  if (!retrieve.ok()) co_return retrieve.status();
  rag::AnswerRequest request;
  request.retrieve = *std::move(retrieve);
  request.model = Str(*body, "model");
  request.session_id = Str(*body, "sessionId");
  if (body->contains("promptTemplate")) {
    request.prompt_template = Str(*body, "promptTemplate");
    if (absl::Status s = rag::ValidatePromptTemplate(*request.prompt_template, "promptTemplate");
        !s.ok()) {
      co_return s;
    }
  }
  if (body->contains("maxTokens")) {
    if (!(*body)["maxTokens"].is_number_integer()) co_return absl::InvalidArgumentError("maxTokens: must be an integer");
    request.max_tokens = (*body)["maxTokens"].get<int>();
  }
  if (body->contains("temperature") && (*body)["temperature"].is_number()) {
    request.temperature = (*body)["temperature"].get<double>();
  }
  if (body->contains("abstainThreshold") && (*body)["abstainThreshold"].is_number()) {
    request.abstain_threshold = (*body)["abstainThreshold"].get<double>();
  }
  bool stream = body->value("stream", false);
  if (!stream) {
    auto answer = co_await svc.Answer(http.ctx, std::move(request));
    if (!answer.ok()) co_return answer.status();
    co_return HttpResponse::Json(200, AnswerView(*answer).dump());
  }
  auto opened = co_await svc.StreamAnswer(http.ctx, std::move(request));
  if (!opened.ok()) co_return opened.status();
  std::shared_ptr<rag::AnswerStream> answer = std::move(*opened);
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("cache-control", "no-cache");
  response.stream = [answer](net::StreamWriter& writer) -> boost::asio::awaitable<absl::Status> {
    for (;;) {
      auto delta = co_await answer->Next();
      if (!delta.ok()) {
        json error = {{"error", {{"message", ToStd(delta.status().message())}}}};
        co_return co_await writer.Event("error", error.dump());
      }
      if (!delta->has_value()) break;
      json piece = {{"text", **delta}};
      if (absl::Status s = co_await writer.Event("delta", piece.dump()); !s.ok()) co_return s;
    }
    co_return co_await writer.Event("answer", AnswerView(answer->Result()).dump());
  };
  co_return response;
}

}  // namespace

void AddRagRoutes(net::Router& router, rag::KnowledgeBaseService& service) {
  rag::KnowledgeBaseService* svc = &service;
  auto add = [&](const char* method, const char* pattern, Permission permission, auto fn) {
    net::RouteOptions options;
    options.permission = permission;
    router.Add(method, pattern, [svc, fn](HttpRequest& r) { return fn(r, *svc); }, options);
  };
  const Permission w = Permission::kKbWrite, r = Permission::kKbRead;
  add("POST", "/v1/knowledge-bases", w, CreateKb);
  add("GET", "/v1/knowledge-bases", r, ListKbs);
  add("GET", "/v1/knowledge-bases/{kb}", r, GetKb);
  add("PATCH", "/v1/knowledge-bases/{kb}", w, PatchKb);
  add("DELETE", "/v1/knowledge-bases/{kb}", w, DeleteKb);
  add("POST", "/v1/knowledge-bases/{kb}/data-sources", w, CreateSource);
  add("GET", "/v1/knowledge-bases/{kb}/data-sources", r, ListSources);
  add("GET", "/v1/knowledge-bases/{kb}/data-sources/{ds}", r, GetSource);
  add("DELETE", "/v1/knowledge-bases/{kb}/data-sources/{ds}", w, DeleteSource);
  add("POST", "/v1/knowledge-bases/{kb}/data-sources/{ds}/sync", w, SyncSource);
  add("GET", "/v1/knowledge-bases/{kb}/data-sources/{ds}/jobs", r, ListJobs);
  add("GET", "/v1/knowledge-bases/{kb}/data-sources/{ds}/jobs/{job}", r, GetJob);
  add("POST", "/v1/knowledge-bases/{kb}/documents", w, Ingest);
  add("GET", "/v1/knowledge-bases/{kb}/documents", r, ListDocs);
  add("GET", "/v1/knowledge-bases/{kb}/documents/{doc}", r, GetDoc);
  add("DELETE", "/v1/knowledge-bases/{kb}/documents/{doc}", w, DeleteDoc);
  add("POST", "/v1/knowledge-bases/{kb}/retrieve", r, RetrieveRoute);
  add("POST", "/v1/knowledge-bases/{kb}/answer", r, AnswerRoute);
}

}  // namespace basalt::api
