#include "api/bedrock_kb_shapes.h"

#include <algorithm>
#include <set>

#include "async/records.h"
#include "core/strings.h"
#include "rag/answer/prompt.h"
#include "rag/chunk/chunking.h"
#include "rag/filter/retrieval_filter.h"
#include "rag/kb/rag_db.h"
#include "tenancy/crypto/encoding.h"

namespace basalt::api::bedrock_kb {
namespace {

using json = nlohmann::json;

constexpr char kNoS3[] = "basalt has no S3";
constexpr char kReservedPrefix[] = "x-amz-bedrock-kb-";
constexpr char kSourceUriKey[] = "x-amz-bedrock-kb-source-uri";

absl::Status Bad(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(path, ": ", what));
}

std::string Join(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : StrCat(base, ".", key);
}

// The member `key` of `obj`, or nullptr when `obj` is no object or the member
// is absent or null (AWS SDKs leave unset members out; null means the same).
const json* Find(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// An object member; nullptr when absent and not required.
absl::StatusOr<const json*> ObjectAt(const json& obj, std::string_view key, std::string_view base,
                                     bool required) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) return Bad(Join(base, key), "is required");
    return nullptr;
  }
  if (!v->is_object()) return Bad(Join(base, key), "must be an object");
  return v;
}

absl::StatusOr<std::optional<std::string>> StringAt(const json& obj, std::string_view key,
                                                    std::string_view base, bool required) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) return Bad(Join(base, key), "is required");
    return std::optional<std::string>();
  }
  if (!v->is_string()) return Bad(Join(base, key), "must be a string");
  return std::optional<std::string>(v->get<std::string>());
}

absl::StatusOr<std::optional<int64_t>> IntAt(const json& obj, std::string_view key,
                                             std::string_view base, int64_t lo, int64_t hi) {
  const json* v = Find(obj, key);
  if (v == nullptr) return std::optional<int64_t>();
  if (!v->is_number_integer() || v->get<int64_t>() < lo || v->get<int64_t>() > hi) {
    return Bad(Join(base, key), StrCat("must be an integer in ", lo, "..", hi));
  }
  return std::optional<int64_t>(v->get<int64_t>());
}

// A member that must hold one of `allowed` (nullopt when absent and optional).
absl::StatusOr<std::optional<std::string>> EnumAt(const json& obj, std::string_view key,
                                                  std::string_view base, bool required,
                                                  const std::vector<std::string>& allowed) {
  absl::StatusOr<std::optional<std::string>> v = StringAt(obj, key, base, required);
  if (!v.ok() || !v->has_value()) return v;
  if (std::find(allowed.begin(), allowed.end(), **v) == allowed.end()) {
    return Bad(Join(base, key), StrCat("must be one of ", StrJoin(allowed, ", ")));
  }
  return v;
}

// Refuses members basalt does not have, naming the first one present.
absl::Status Unsupported(const json& obj, std::string_view base,
                         std::initializer_list<std::pair<const char*, const char*>> members) {
  for (const auto& [key, why] : members) {
    if (Find(obj, key) != nullptr) return Bad(Join(base, key), StrCat("not supported: ", why));
  }
  return absl::OkStatus();
}

std::string OneOf(std::string_view value, std::initializer_list<std::string_view> legal,
                  std::string_view fallback) {
  for (std::string_view l : legal) {
    if (value == l) return std::string(value);
  }
  return std::string(fallback);
}

}  // namespace

std::string IsoTime(int64_t unix_ms) { return async::IsoTime(unix_ms); }

std::string ModelIdFromArn(std::string_view arn) {
  if (arn.rfind("arn:", 0) != 0) return std::string(arn);
  size_t pos = 0;
  for (int colons = 0; colons < 5; ++colons) {
    pos = arn.find(':', pos);
    if (pos == std::string_view::npos) return std::string(arn);
    ++pos;
  }
  std::string_view resource = arn.substr(pos);
  const size_t slash = resource.find('/');
  return std::string(slash == std::string_view::npos ? resource : resource.substr(slash + 1));
}

size_t Utf16Offset(std::string_view utf8, size_t byte_offset) {
  size_t units = 0;
  const size_t end = std::min(byte_offset, utf8.size());
  for (size_t i = 0; i < end; ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte
    units += (c >= 0xF0) ? 2 : 1;       // four-byte sequences are surrogate pairs
  }
  return units;
}

absl::Status RenameField(const absl::Status& status, std::string_view from, std::string_view to) {
  std::string_view message = ToStd(status.message());
  if (message.rfind(from, 0) != 0) return status;
  return absl::Status(status.code(), StrCat(to, message.substr(from.size())));
}

// ---------------------------------------------------------------- knowledge bases

absl::StatusOr<rag::KnowledgeBase> ParseCreateKnowledgeBase(const json& body) {
  rag::KnowledgeBase kb;
  absl::StatusOr<std::optional<std::string>> name = StringAt(body, "name", "", true);
  if (!name.ok()) return name.status();
  kb.name = **name;
  absl::StatusOr<std::optional<std::string>> description = StringAt(body, "description", "", false);
  if (!description.ok()) return description.status();
  kb.description = description->value_or("");
  absl::StatusOr<std::optional<std::string>> role = StringAt(body, "roleArn", "", true);
  if (!role.ok()) return role.status();
  kb.role_arn = **role;
  absl::StatusOr<const json*> config = ObjectAt(body, "knowledgeBaseConfiguration", "", true);
  if (!config.ok()) return config.status();
  const std::string base = "knowledgeBaseConfiguration";
  absl::StatusOr<std::optional<std::string>> type = StringAt(**config, "type", base, true);
  if (!type.ok()) return type.status();
  if (**type != "VECTOR") return Bad(Join(base, "type"), "basalt serves VECTOR knowledge bases");
  const std::string vbase = Join(base, "vectorKnowledgeBaseConfiguration");
  absl::StatusOr<const json*> vector =
      ObjectAt(**config, "vectorKnowledgeBaseConfiguration", base, true);
  if (!vector.ok()) return vector.status();
  absl::StatusOr<std::optional<std::string>> arn =
      StringAt(**vector, "embeddingModelArn", vbase, true);
  if (!arn.ok()) return arn.status();
  kb.config.embedding_model = ModelIdFromArn(**arn);
  if (kb.config.embedding_model.empty()) return Bad(Join(vbase, "embeddingModelArn"), "names no model");
  if (const json* emc = Find(**vector, "embeddingModelConfiguration")) {
    const json* bedrock = Find(*emc, "bedrockEmbeddingModelConfiguration");
    if (bedrock != nullptr && Find(*bedrock, "embeddingDataType") != nullptr &&
        *Find(*bedrock, "embeddingDataType") != "FLOAT32") {
      return Bad(Join(vbase, "embeddingModelConfiguration.bedrockEmbeddingModelConfiguration."
                             "embeddingDataType"),
                 "basalt stores FLOAT32 vectors");
    }
  }
  if (absl::Status s = Unsupported(**vector, vbase,
                                   {{"supplementalDataStorageConfiguration",
                                     "basalt stores no multimodal supplements"}});
      !s.ok()) {
    return s;
  }
  kb.extra["embeddingModelArn"] = **arn;
  absl::StatusOr<const json*> storage = ObjectAt(body, "storageConfiguration", "", false);
  if (!storage.ok()) return storage.status();
  if (*storage != nullptr) kb.extra["storageConfiguration"] = **storage;
  return kb;
}

absl::StatusOr<json> ParseUpdateKnowledgeBase(const json& body) {
  absl::StatusOr<rag::KnowledgeBase> parsed = ParseCreateKnowledgeBase(body);
  if (!parsed.ok()) return parsed.status();
  json patch = {{"name", parsed->name},
                {"roleArn", parsed->role_arn},
                {"config", {{"embeddingModel", parsed->config.embedding_model}}}};
  if (Find(body, "description") != nullptr) patch["description"] = parsed->description;
  return patch;
}

namespace {

json KnowledgeBaseConfigurationOf(const rag::KnowledgeBase& kb, const ArnContext& arn) {
  std::string model_arn = kb.extra.value("embeddingModelArn", "");
  if (ModelIdFromArn(model_arn) != kb.config.embedding_model) {
    model_arn = StrCat("arn:aws:bedrock:", arn.region, "::foundation-model/", kb.config.embedding_model);
  }
  json vector = {{"embeddingModelArn", model_arn}};
  if (kb.config.dimensions > 0) {
    vector["embeddingModelConfiguration"] = {
        {"bedrockEmbeddingModelConfiguration",
         {{"dimensions", kb.config.dimensions}, {"embeddingDataType", "FLOAT32"}}}};
  }
  return {{"type", "VECTOR"}, {"vectorKnowledgeBaseConfiguration", vector}};
}

std::string KbStatus(std::string_view status) {
  return OneOf(status, {"CREATING", "ACTIVE", "DELETING", "UPDATING", "FAILED"}, "ACTIVE");
}

}  // namespace

json RenderKnowledgeBase(const rag::KnowledgeBase& kb, const ArnContext& arn) {
  json out = {
      {"knowledgeBaseId", kb.id},
      {"name", kb.name},
      {"knowledgeBaseArn", StrCat("arn:aws:bedrock:", arn.region, ":", arn.account, ":knowledge-base/", kb.id)},
      {"roleArn", kb.role_arn.empty() ? StrCat("arn:aws:iam::", arn.account, ":role/basalt") : kb.role_arn},
      {"knowledgeBaseConfiguration", KnowledgeBaseConfigurationOf(kb, arn)},
      {"status", KbStatus(kb.status)},
      {"createdAt", IsoTime(kb.created_ms)},
      {"updatedAt", IsoTime(kb.updated_ms)}};
  if (!kb.description.empty()) out["description"] = kb.description;
  if (kb.extra.contains("storageConfiguration")) out["storageConfiguration"] = kb.extra["storageConfiguration"];
  if (!kb.failure.empty()) out["failureReasons"] = json::array({kb.failure});
  return out;
}

json RenderKnowledgeBaseSummary(const rag::KnowledgeBase& kb) {
  json out = {{"knowledgeBaseId", kb.id},
              {"name", kb.name},
              {"status", KbStatus(kb.status)},
              {"updatedAt", IsoTime(kb.updated_ms)}};
  if (!kb.description.empty()) out["description"] = kb.description;
  return out;
}

// ---------------------------------------------------------------- data sources

absl::StatusOr<DataSourceDraft> ParseCreateDataSource(const json& body, std::string kb) {
  DataSourceDraft draft;
  rag::DataSource& s = draft.source;
  s.kb = std::move(kb);
  absl::StatusOr<std::optional<std::string>> name = StringAt(body, "name", "", true);
  if (!name.ok()) return name.status();
  s.name = **name;
  absl::StatusOr<std::optional<std::string>> description = StringAt(body, "description", "", false);
  if (!description.ok()) return description.status();
  s.description = description->value_or("");
  const std::string base = "dataSourceConfiguration";
  absl::StatusOr<const json*> config = ObjectAt(body, base, "", true);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::optional<std::string>> type = StringAt(**config, "type", base, true);
  if (!type.ok()) return type.status();
  if (**type == "CUSTOM") {
    s.type = "CUSTOM";
  } else if (**type == "S3") {
    const std::string sbase = Join(base, "s3Configuration");
    absl::StatusOr<const json*> s3 = ObjectAt(**config, "s3Configuration", base, true);
    if (!s3.ok()) return s3.status();
    absl::StatusOr<std::optional<std::string>> bucket = StringAt(**s3, "bucketArn", sbase, true);
    if (!bucket.ok()) return bucket.status();
    if (bucket->value().rfind("file:///", 0) != 0) {
      return Bad(Join(sbase, "bucketArn"),
                 StrCat(kNoS3, "; name a server directory as file:///path (it must be under "
                               "rag.allowed_directories) or use a CUSTOM data source"));
    }
    if (absl::Status st = Unsupported(**s3, sbase, {{"inclusionPrefixes", "the whole directory is read"}});
        !st.ok()) {
      return st;
    }
    s.type = "LOCAL_DIRECTORY";
    s.directory = bucket->value().substr(std::string_view("file://").size());
  } else {
    return Bad(Join(base, "type"),
               "basalt serves CUSTOM data sources, and S3 with a file:// bucketArn for a server directory");
  }
  s.extra["dataSourceConfiguration"] = **config;
  absl::StatusOr<std::optional<std::string>> policy =
      EnumAt(body, "dataDeletionPolicy", "", false, {"RETAIN", "DELETE"});
  if (!policy.ok()) return policy.status();
  if (policy->has_value()) s.extra["dataDeletionPolicy"] = **policy;
  absl::StatusOr<const json*> sse = ObjectAt(body, "serverSideEncryptionConfiguration", "", false);
  if (!sse.ok()) return sse.status();
  if (*sse != nullptr) s.extra["serverSideEncryptionConfiguration"] = **sse;
  const std::string vbase = "vectorIngestionConfiguration";
  absl::StatusOr<const json*> vector = ObjectAt(body, vbase, "", false);
  if (!vector.ok()) return vector.status();
  if (*vector != nullptr) {
    if (absl::Status st = Unsupported(
            **vector, vbase,
            {{"parsingConfiguration", "basalt extracts documents with its own extractors"},
             {"customTransformationConfiguration", "basalt runs no Lambda transformations"},
             {"contextEnrichmentConfiguration", "basalt does no model-based enrichment"}});
        !st.ok()) {
      return st;
    }
    absl::StatusOr<const json*> chunking = ObjectAt(**vector, "chunkingConfiguration", vbase, false);
    if (!chunking.ok()) return chunking.status();
    if (*chunking != nullptr) {
      absl::StatusOr<rag::ChunkingConfig> parsed = rag::ParseChunkingConfig(**chunking);
      if (!parsed.ok()) {
        std::string_view message = ToStd(parsed.status().message());
        return absl::InvalidArgumentError(message.rfind("chunkingConfiguration", 0) == 0
                                              ? StrCat(vbase, ".", message)
                                              : StrCat(vbase, ".chunkingConfiguration: ", message));
      }
      draft.chunking = rag::ChunkingConfigToJson(*parsed);
      s.extra["chunkingConfiguration"] = **chunking;
    }
  }
  return draft;
}

namespace {

json DataSourceConfigurationOf(const rag::DataSource& s) {
  if (s.extra.contains("dataSourceConfiguration")) return s.extra["dataSourceConfiguration"];
  if (s.type == "LOCAL_DIRECTORY") {
    return {{"type", "S3"}, {"s3Configuration", {{"bucketArn", StrCat("file://", s.directory)}}}};
  }
  return {{"type", "CUSTOM"}};
}

}  // namespace

json RenderDataSource(const rag::DataSource& s) {
  json out = {{"knowledgeBaseId", s.kb},
              {"dataSourceId", s.id},
              {"name", s.name},
              {"status", OneOf(s.status, {"AVAILABLE", "DELETING", "DELETE_UNSUCCESSFUL"}, "AVAILABLE")},
              {"dataSourceConfiguration", DataSourceConfigurationOf(s)},
              {"dataDeletionPolicy", s.extra.value("dataDeletionPolicy", "DELETE")},
              {"createdAt", IsoTime(s.created_ms)},
              {"updatedAt", IsoTime(s.updated_ms)}};
  if (!s.description.empty()) out["description"] = s.description;
  if (s.extra.contains("serverSideEncryptionConfiguration")) {
    out["serverSideEncryptionConfiguration"] = s.extra["serverSideEncryptionConfiguration"];
  }
  // Echoed only when it is one of Bedrock's strategies (DEFAULT and MARKDOWN
  // are basalt's and would be illegal enum values to an SDK).
  if (s.extra.contains("chunkingConfiguration")) {
    const json& c = s.extra["chunkingConfiguration"];
    const std::string strategy = c.value("chunkingStrategy", "");
    if (OneOf(strategy, {"FIXED_SIZE", "NONE", "HIERARCHICAL", "SEMANTIC"}, "") == strategy &&
        !strategy.empty()) {
      out["vectorIngestionConfiguration"] = {{"chunkingConfiguration", c}};
    }
  }
  return out;
}

json RenderDataSourceSummary(const rag::DataSource& s) {
  json out = {{"knowledgeBaseId", s.kb},
              {"dataSourceId", s.id},
              {"name", s.name},
              {"status", OneOf(s.status, {"AVAILABLE", "DELETING", "DELETE_UNSUCCESSFUL"}, "AVAILABLE")},
              {"updatedAt", IsoTime(s.updated_ms)}};
  if (!s.description.empty()) out["description"] = s.description;
  return out;
}

// ---------------------------------------------------------------- documents

namespace {

absl::Status ParseAttribute(const json& a, const std::string& base, rag::DocumentInput& doc) {
  if (!a.is_object()) return Bad(base, "must be an object");
  absl::StatusOr<std::optional<std::string>> key = StringAt(a, "key", base, true);
  if (!key.ok()) return key.status();
  const std::string& k = **key;
  if (k.empty() || k.size() > 100) return Bad(Join(base, "key"), "must be 1..100 characters");
  const std::string vbase = Join(base, "value");
  absl::StatusOr<const json*> value = ObjectAt(a, "value", base, true);
  if (!value.ok()) return value.status();
  absl::StatusOr<std::optional<std::string>> type =
      EnumAt(**value, "type", vbase, true, {"STRING", "NUMBER", "BOOLEAN", "STRING_LIST"});
  if (!type.ok()) return type.status();
  const json& v = **value;
  rag::AttributeValue parsed;
  if (**type == "STRING") {
    absl::StatusOr<std::optional<std::string>> s = StringAt(v, "stringValue", vbase, true);
    if (!s.ok()) return s.status();
    parsed = **s;
  } else if (**type == "NUMBER") {
    const json* n = Find(v, "numberValue");
    if (n == nullptr || !n->is_number()) return Bad(Join(vbase, "numberValue"), "must be a number");
    parsed = n->get<double>();
  } else if (**type == "BOOLEAN") {
    const json* b = Find(v, "booleanValue");
    if (b == nullptr || !b->is_boolean()) return Bad(Join(vbase, "booleanValue"), "must be a boolean");
    parsed = b->get<bool>();
  } else {
    const json* l = Find(v, "stringListValue");
    if (l == nullptr || !l->is_array()) {
      return Bad(Join(vbase, "stringListValue"), "must be an array of strings");
    }
    std::vector<std::string> list;
    for (const json& item : *l) {
      if (!item.is_string()) return Bad(Join(vbase, "stringListValue"), "must be an array of strings");
      list.push_back(item.get<std::string>());
    }
    parsed = std::move(list);
  }
  if (k == kSourceUriKey) {
    if (!std::holds_alternative<std::string>(parsed)) return Bad(Join(vbase, "type"), "must be STRING");
    doc.source_uri = std::get<std::string>(parsed);
    return absl::OkStatus();
  }
  if (k.rfind(kReservedPrefix, 0) == 0) {
    return Bad(Join(base, "key"), StrCat("keys starting with ", kReservedPrefix,
                                         " are reserved (except ", kSourceUriKey, ")"));
  }
  if (!doc.attributes.emplace(k, std::move(parsed)).second) {
    return Bad(Join(base, "key"), StrCat("'", k, "' is given twice"));
  }
  return absl::OkStatus();
}

absl::Status ParseContent(const json& d, const std::string& base, rag::DocumentInput& doc) {
  const std::string cbase = Join(base, "content");
  absl::StatusOr<const json*> content = ObjectAt(d, "content", base, true);
  if (!content.ok()) return content.status();
  absl::StatusOr<std::optional<std::string>> source_type =
      EnumAt(**content, "dataSourceType", cbase, true, {"CUSTOM", "S3"});
  if (!source_type.ok()) return source_type.status();
  if (**source_type == "S3") {
    return Bad(Join(cbase, "dataSourceType"), StrCat("S3 is not supported: ", kNoS3, "; send CUSTOM content"));
  }
  const std::string ubase = Join(cbase, "custom");
  absl::StatusOr<const json*> custom = ObjectAt(**content, "custom", cbase, true);
  if (!custom.ok()) return custom.status();
  absl::StatusOr<const json*> ident = ObjectAt(**custom, "customDocumentIdentifier", ubase, true);
  if (!ident.ok()) return ident.status();
  absl::StatusOr<std::optional<std::string>> id =
      StringAt(**ident, "id", Join(ubase, "customDocumentIdentifier"), true);
  if (!id.ok()) return id.status();
  doc.id = **id;
  absl::StatusOr<std::optional<std::string>> kind =
      EnumAt(**custom, "sourceType", ubase, true, {"IN_LINE", "S3_LOCATION"});
  if (!kind.ok()) return kind.status();
  if (**kind == "S3_LOCATION") {
    return Bad(Join(ubase, "sourceType"), StrCat("S3_LOCATION is not supported: ", kNoS3, "; send IN_LINE content"));
  }
  const std::string ibase = Join(ubase, "inlineContent");
  absl::StatusOr<const json*> inline_content = ObjectAt(**custom, "inlineContent", ubase, true);
  if (!inline_content.ok()) return inline_content.status();
  absl::StatusOr<std::optional<std::string>> type =
      EnumAt(**inline_content, "type", ibase, true, {"TEXT", "BYTE"});
  if (!type.ok()) return type.status();
  if (**type == "TEXT") {
    absl::StatusOr<const json*> text = ObjectAt(**inline_content, "textContent", ibase, true);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::optional<std::string>> data =
        StringAt(**text, "data", Join(ibase, "textContent"), true);
    if (!data.ok()) return data.status();
    doc.content = **data;
    doc.mime_type = "text/plain";
    return absl::OkStatus();
  }
  const std::string bbase = Join(ibase, "byteContent");
  absl::StatusOr<const json*> bytes = ObjectAt(**inline_content, "byteContent", ibase, true);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::optional<std::string>> mime = StringAt(**bytes, "mimeType", bbase, true);
  if (!mime.ok()) return mime.status();
  absl::StatusOr<std::optional<std::string>> data = StringAt(**bytes, "data", bbase, true);
  if (!data.ok()) return data.status();
  std::optional<std::string> decoded = crypto::Base64Decode(**data);
  if (!decoded) return Bad(Join(bbase, "data"), "must be base64");
  doc.content = *std::move(decoded);
  doc.mime_type = **mime;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<rag::DocumentInput>> ParseIngestDocuments(const json& body,
                                                                     const std::string& data_source) {
  const json* list = Find(body, "documents");
  if (list == nullptr || !list->is_array()) return Bad("documents", "must be an array");
  std::vector<rag::DocumentInput> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& d = (*list)[i];
    const std::string base = StrCat("documents[", i, "]");
    if (!d.is_object()) return Bad(base, "must be an object");
    rag::DocumentInput doc;
    doc.data_source = data_source;
    if (absl::Status s = ParseContent(d, base, doc); !s.ok()) return s;
    const std::string mbase = Join(base, "metadata");
    absl::StatusOr<const json*> metadata = ObjectAt(d, "metadata", base, false);
    if (!metadata.ok()) return metadata.status();
    if (*metadata != nullptr) {
      absl::StatusOr<std::optional<std::string>> type =
          EnumAt(**metadata, "type", mbase, true, {"IN_LINE_ATTRIBUTE", "S3_LOCATION"});
      if (!type.ok()) return type.status();
      if (**type == "S3_LOCATION") {
        return Bad(Join(mbase, "type"), StrCat("S3_LOCATION is not supported: ", kNoS3, "; send IN_LINE_ATTRIBUTE"));
      }
      const json* attrs = Find(**metadata, "inlineAttributes");
      if (attrs != nullptr && !attrs->is_array()) return Bad(Join(mbase, "inlineAttributes"), "must be an array");
      for (size_t j = 0; attrs != nullptr && j < attrs->size(); ++j) {
        absl::Status s = ParseAttribute((*attrs)[j], StrCat(mbase, ".inlineAttributes[", j, "]"), doc);
        if (!s.ok()) return s;
      }
    }
    out.push_back(std::move(doc));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseDocumentIdentifiers(const json& body) {
  const json* list = Find(body, "documentIdentifiers");
  if (list == nullptr || !list->is_array()) return Bad("documentIdentifiers", "must be an array");
  std::vector<std::string> ids;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string base = StrCat("documentIdentifiers[", i, "]");
    const json& d = (*list)[i];
    if (!d.is_object()) return Bad(base, "must be an object");
    absl::StatusOr<std::optional<std::string>> type =
        EnumAt(d, "dataSourceType", base, true, {"CUSTOM", "S3"});
    if (!type.ok()) return type.status();
    if (**type == "S3") return Bad(Join(base, "dataSourceType"), StrCat("S3 is not supported: ", kNoS3, "; use custom.id"));
    absl::StatusOr<const json*> custom = ObjectAt(d, "custom", base, true);
    if (!custom.ok()) return custom.status();
    absl::StatusOr<std::optional<std::string>> id = StringAt(**custom, "id", Join(base, "custom"), true);
    if (!id.ok()) return id.status();
    ids.push_back(**id);
  }
  return ids;
}

json RenderDocumentDetail(const rag::DocumentState& d) {
  json out = {{"knowledgeBaseId", d.kb},
              {"dataSourceId", d.data_source},
              {"status", OneOf(d.status, {"INDEXED", "PENDING", "FAILED", "NOT_FOUND", "IN_PROGRESS",
                                          "DELETING"},
                               "PENDING")},
              {"identifier", {{"dataSourceType", "CUSTOM"}, {"custom", {{"id", d.id}}}}}};
  if (!d.reason.empty()) out["statusReason"] = d.reason;
  if (d.updated_ms > 0) out["updatedAt"] = IsoTime(d.updated_ms);
  return out;
}

// ---------------------------------------------------------------- ingestion jobs

namespace {

json Statistics(const rag::IngestionJob& j) {
  return {{"numberOfDocumentsScanned", j.scanned},
          {"numberOfMetadataDocumentsScanned", 0},
          {"numberOfNewDocumentsIndexed", j.new_indexed},
          {"numberOfModifiedDocumentsIndexed", j.modified_indexed},
          {"numberOfMetadataDocumentsModified", 0},
          {"numberOfDocumentsDeleted", j.deleted},
          {"numberOfDocumentsFailed", j.failed}};
}

std::string JobStatus(std::string_view s) {
  return OneOf(s, {"STARTING", "IN_PROGRESS", "COMPLETE", "FAILED", "STOPPING", "STOPPED"}, "FAILED");
}

}  // namespace

json RenderIngestionJob(const rag::IngestionJob& j) {
  json out = RenderIngestionJobSummary(j);
  if (!j.failures.empty()) out["failureReasons"] = j.failures;
  return out;
}

json RenderIngestionJobSummary(const rag::IngestionJob& j) {
  return {{"knowledgeBaseId", j.kb},
          {"dataSourceId", j.data_source},
          {"ingestionJobId", j.id},
          {"status", JobStatus(j.status)},
          {"statistics", Statistics(j)},
          {"startedAt", IsoTime(j.started_ms)},
          {"updatedAt", IsoTime(j.updated_ms)}};
}

absl::StatusOr<PageRequest> ParsePageRequest(const json& body, int default_max) {
  PageRequest page;
  page.max_results = default_max;
  absl::StatusOr<std::optional<int64_t>> max = IntAt(body, "maxResults", "", 1, 1000);
  if (!max.ok()) return max.status();
  if (max->has_value()) page.max_results = static_cast<int>(**max);
  absl::StatusOr<std::optional<std::string>> token = StringAt(body, "nextToken", "", false);
  if (!token.ok()) return token.status();
  page.next_token = token->value_or("");
  return page;
}

absl::StatusOr<std::vector<rag::IngestionJob>> FilterAndSortJobs(const json& body,
                                                                std::vector<rag::IngestionJob> jobs) {
  const json* filters = Find(body, "filters");
  if (filters != nullptr && !filters->is_array()) return Bad("filters", "must be an array");
  for (size_t i = 0; filters != nullptr && i < filters->size(); ++i) {
    const std::string base = StrCat("filters[", i, "]");
    const json& f = (*filters)[i];
    absl::StatusOr<std::optional<std::string>> attr = EnumAt(f, "attribute", base, true, {"STATUS"});
    if (!attr.ok()) return attr.status();
    absl::StatusOr<std::optional<std::string>> op = EnumAt(f, "operator", base, true, {"EQ"});
    if (!op.ok()) return op.status();
    const json* values = Find(f, "values");
    if (values == nullptr || !values->is_array()) return Bad(Join(base, "values"), "must be an array");
    std::set<std::string> wanted;
    for (const json& v : *values) {
      if (v.is_string()) wanted.insert(v.get<std::string>());
    }
    std::erase_if(jobs, [&](const rag::IngestionJob& j) { return !wanted.contains(JobStatus(j.status)); });
  }
  absl::StatusOr<const json*> sort = ObjectAt(body, "sortBy", "", false);
  if (!sort.ok()) return sort.status();
  if (*sort != nullptr) {
    absl::StatusOr<std::optional<std::string>> attr =
        EnumAt(**sort, "attribute", "sortBy", true, {"STATUS", "STARTED_AT"});
    if (!attr.ok()) return attr.status();
    absl::StatusOr<std::optional<std::string>> order =
        EnumAt(**sort, "order", "sortBy", true, {"ASCENDING", "DESCENDING"});
    if (!order.ok()) return order.status();
    const bool by_status = **attr == "STATUS", ascending = **order == "ASCENDING";
    std::stable_sort(jobs.begin(), jobs.end(), [&](const rag::IngestionJob& a, const rag::IngestionJob& b) {
      if (by_status) return ascending ? a.status < b.status : b.status < a.status;
      return ascending ? a.started_ms < b.started_ms : b.started_ms < a.started_ms;
    });
  }
  return jobs;
}

// ---------------------------------------------------------------- runtime

absl::Status ParseRetrievalConfiguration(const json* config, std::string_view path,
                                         RetrieveCall& call) {
  if (config == nullptr || config->is_null()) return absl::OkStatus();
  const std::string base(path);
  if (!config->is_object()) return Bad(base, "must be an object");
  if (absl::Status s = Unsupported(*config, base,
                                   {{"managedSearchConfiguration",
                                     "use vectorSearchConfiguration"}});
      !s.ok()) {
    return s;
  }
  const std::string vbase = Join(base, "vectorSearchConfiguration");
  absl::StatusOr<const json*> vector = ObjectAt(*config, "vectorSearchConfiguration", base, false);
  if (!vector.ok()) return vector.status();
  if (*vector == nullptr) return absl::OkStatus();
  const json& v = **vector;
  if (absl::Status s = Unsupported(v, vbase,
                                   {{"implicitFilterConfiguration",
                                     "basalt derives no filters with a model; send filter"}});
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::optional<int64_t>> k = IntAt(v, "numberOfResults", vbase, 1, 100);
  if (!k.ok()) return k.status();
  if (k->has_value()) call.request.k = static_cast<int>(**k);
  absl::StatusOr<std::optional<std::string>> type =
      EnumAt(v, "overrideSearchType", vbase, false, {"HYBRID", "SEMANTIC"});
  if (!type.ok()) return type.status();
  if (type->has_value()) {
    call.request.search_type = **type == "HYBRID" ? rag::SearchType::kHybrid : rag::SearchType::kSemantic;
  }
  if (const json* filter = Find(v, "filter")) {
    // Compiled here for the error's path; the service compiles it again.
    absl::StatusOr<rag::RetrievalFilter> compiled =
        rag::RetrievalFilter::Compile(*filter, Join(vbase, "filter"));
    if (!compiled.ok()) return compiled.status();
    call.request.filter = *filter;
  }
  const std::string rbase = Join(vbase, "rerankingConfiguration");
  absl::StatusOr<const json*> rerank = ObjectAt(v, "rerankingConfiguration", vbase, false);
  if (!rerank.ok()) return rerank.status();
  if (*rerank != nullptr) {
    // basalt's builtin cross-check (term overlap) stands in for the reranking model.
    absl::StatusOr<std::optional<std::string>> rtype =
        EnumAt(**rerank, "type", rbase, true, {"BEDROCK_RERANKING_MODEL"});
    if (!rtype.ok()) return rtype.status();
    call.request.rerank = true;
    if (const json* bedrock = Find(**rerank, "bedrockRerankingConfiguration")) {
      absl::StatusOr<std::optional<int64_t>> n = IntAt(
          *bedrock, "numberOfRerankedResults", Join(rbase, "bedrockRerankingConfiguration"), 1, 100);
      if (!n.ok()) return n.status();
      if (n->has_value()) call.reranked_results = static_cast<int>(**n);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RetrieveCall> ParseRetrieve(const json& body, std::string kb) {
  RetrieveCall call;
  call.request.kb = std::move(kb);
  absl::StatusOr<const json*> query = ObjectAt(body, "retrievalQuery", "", true);
  if (!query.ok()) return query.status();
  absl::StatusOr<std::optional<std::string>> type =
      EnumAt(**query, "type", "retrievalQuery", false, {"TEXT", "IMAGE"});
  if (!type.ok()) return type.status();
  if (type->value_or("TEXT") != "TEXT" || Find(**query, "image") != nullptr) {
    return Bad("retrievalQuery.type", "basalt retrieves by TEXT only");
  }
  absl::StatusOr<std::optional<std::string>> text = StringAt(**query, "text", "retrievalQuery", true);
  if (!text.ok()) return text.status();
  call.request.query = **text;
  if (Find(body, "nextToken") != nullptr) {
    return Bad("nextToken", "basalt returns every result in one page; there is no next page");
  }
  if (absl::Status s = ParseRetrievalConfiguration(Find(body, "retrievalConfiguration"),
                                                   "retrievalConfiguration", call);
      !s.ok()) {
    return s;
  }
  return call;
}

absl::StatusOr<AnswerCall> ParseRetrieveAndGenerate(const json& body) {
  AnswerCall call;
  rag::AnswerRequest& r = call.request;
  absl::StatusOr<const json*> input = ObjectAt(body, "input", "", true);
  if (!input.ok()) return input.status();
  absl::StatusOr<std::optional<std::string>> text = StringAt(**input, "text", "input", true);
  if (!text.ok()) return text.status();
  r.retrieve.query = **text;
  absl::StatusOr<std::optional<std::string>> session = StringAt(body, "sessionId", "", false);
  if (!session.ok()) return session.status();
  r.session_id = session->value_or("");
  const std::string base = "retrieveAndGenerateConfiguration";
  absl::StatusOr<const json*> config = ObjectAt(body, base, "", true);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::optional<std::string>> type =
      EnumAt(**config, "type", base, true, {"KNOWLEDGE_BASE", "EXTERNAL_SOURCES"});
  if (!type.ok()) return type.status();
  if (**type != "KNOWLEDGE_BASE") {
    return Bad(Join(base, "type"), "basalt answers from KNOWLEDGE_BASE sources only");
  }
  const std::string kbase = Join(base, "knowledgeBaseConfiguration");
  absl::StatusOr<const json*> kb = ObjectAt(**config, "knowledgeBaseConfiguration", base, true);
  if (!kb.ok()) return kb.status();
  absl::StatusOr<std::optional<std::string>> id = StringAt(**kb, "knowledgeBaseId", kbase, true);
  if (!id.ok()) return id.status();
  r.retrieve.kb = **id;
  absl::StatusOr<std::optional<std::string>> model = StringAt(**kb, "modelArn", kbase, true);
  if (!model.ok()) return model.status();
  r.model = ModelIdFromArn(**model);
  RetrieveCall retrieve{r.retrieve, std::nullopt};
  if (absl::Status s = ParseRetrievalConfiguration(Find(**kb, "retrievalConfiguration"),
                                                   Join(kbase, "retrievalConfiguration"), retrieve);
      !s.ok()) {
    return s;
  }
  r.retrieve = std::move(retrieve.request);
  call.reranked_results = retrieve.reranked_results;
  const std::string gbase = Join(kbase, "generationConfiguration");
  absl::StatusOr<const json*> generation = ObjectAt(**kb, "generationConfiguration", kbase, false);
  if (!generation.ok()) return generation.status();
  if (*generation != nullptr) {
    const json& g = **generation;
    absl::StatusOr<const json*> prompt = ObjectAt(g, "promptTemplate", gbase, false);
    if (!prompt.ok()) return prompt.status();
    if (*prompt != nullptr) {
      absl::StatusOr<std::optional<std::string>> t =
          StringAt(**prompt, "textPromptTemplate", Join(gbase, "promptTemplate"), false);
      if (!t.ok()) return t.status();
      if (t->has_value()) {
        if (absl::Status s = rag::ValidatePromptTemplate(
                **t, Join(gbase, "promptTemplate.textPromptTemplate"));
            !s.ok()) {
          return s;
        }
        r.prompt_template = **t;
      }
    }
    // topP and stopSequences have no counterpart in basalt's answer call;
    // guardrails are the tenant's (the model gate applies them to every call).
    const json* inference = Find(g, "inferenceConfig");
    const json* text_config = inference != nullptr ? Find(*inference, "textInferenceConfig") : nullptr;
    if (text_config != nullptr) {
      const std::string tbase = Join(gbase, "inferenceConfig.textInferenceConfig");
      absl::StatusOr<std::optional<int64_t>> max = IntAt(*text_config, "maxTokens", tbase, 1, 65536);
      if (!max.ok()) return max.status();
      if (max->has_value()) r.max_tokens = static_cast<int>(**max);
      if (const json* t = Find(*text_config, "temperature")) {
        if (!t->is_number() || t->get<double>() < 0 || t->get<double>() > 1) {
          return Bad(Join(tbase, "temperature"), "must be a number in 0..1");
        }
        r.temperature = t->get<double>();
      }
    }
  }
  return call;
}

namespace {

json LocationOf(const rag::RetrievedChunk& c) {
  const std::string& uri = c.source_uri;
  if (uri.rfind("s3://", 0) == 0) return {{"type", "S3"}, {"s3Location", {{"uri", uri}}}};
  if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) {
    return {{"type", "WEB"}, {"webLocation", {{"url", uri}}}};
  }
  return {{"type", "CUSTOM"}, {"customDocumentLocation", {{"id", c.document_id}}}};
}

json MetadataOf(const rag::RetrievedChunk& c) {
  json metadata = rag::AttributesToJson(c.attributes);
  metadata["x-amz-bedrock-kb-source-uri"] = c.source_uri.empty() ? c.document_id : c.source_uri;
  metadata["x-amz-bedrock-kb-chunk-id"] = std::to_string(c.label);
  metadata["x-amz-bedrock-kb-data-source-id"] = c.data_source;
  if (c.pages.first > 0) metadata["x-amz-bedrock-kb-document-page-number"] = c.pages.first;
  return metadata;
}

}  // namespace

json RenderRetrievalResult(const rag::RetrievedChunk& c, bool with_score) {
  json out = {{"content", {{"type", "TEXT"}, {"text", c.text}}},
              {"location", LocationOf(c)},
              {"metadata", MetadataOf(c)}};
  if (with_score) {
    out["score"] = c.score;
    out["documentId"] = c.document_id;
  }
  return out;
}

json RenderCitation(const rag::AnswerResult& a, const rag::AnswerCitation& c) {
  const size_t begin = std::min(c.begin, a.text.size());
  const size_t end = std::clamp(c.end, begin, a.text.size());
  json refs = json::array();
  for (const rag::CitedReference& r : c.references) {
    if (r.source < 0 || static_cast<size_t>(r.source) >= a.sources.size()) continue;
    const rag::RetrievedChunk& src = a.sources[static_cast<size_t>(r.source)];
    json ref = RenderRetrievalResult(src, false);
    // basalt's addition: the supporting span inside content.text (UTF-16, end exclusive).
    ref["metadata"]["x-basalt-cited-span"] = {{"start", Utf16Offset(src.text, r.begin)},
                                              {"end", Utf16Offset(src.text, r.end)}};
    refs.push_back(std::move(ref));
  }
  return {{"generatedResponsePart",
           {{"textResponsePart",
             {{"text", a.text.substr(begin, end - begin)},
              {"span", {{"start", Utf16Offset(a.text, begin)}, {"end", Utf16Offset(a.text, end)}}}}}}},
          {"retrievedReferences", refs}};
}

json RenderRetrieveAndGenerate(const rag::AnswerResult& a) {
  json citations = json::array();
  for (const rag::AnswerCitation& c : a.citations) citations.push_back(RenderCitation(a, c));
  return {{"output", {{"text", a.text}}},
          {"citations", citations},
          {"sessionId", a.session_id},
          {"basaltConfidence", a.confidence}};
}

}  // namespace basalt::api::bedrock_kb
