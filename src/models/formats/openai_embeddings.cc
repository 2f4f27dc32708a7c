// OpenAI /v1/embeddings and /v1/models bodies.
#include <bit>
#include <cstring>
#include <map>

#include "absl/strings/escaping.h"
#include "core/strings.h"
#include "models/formats/format_util.h"
#include "models/formats/openai_format.h"

namespace basalt::models::openai {
namespace {

using formats::FieldError;
using formats::Find;
using formats::IndexPath;
using formats::Json;

// OpenAI's base64 embeddings are the raw float32 array in little-endian order.
static_assert(std::endian::native == std::endian::little,
              "base64 embeddings copy float32 bytes directly; add a byte swap for big-endian");

std::string EncodeFloats(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return absl::Base64Escape(bytes);
}

absl::StatusOr<std::vector<float>> DecodeFloats(const std::string& text, std::string_view path) {
  std::string bytes;
  if (!absl::Base64Unescape(ToAbsl(text), &bytes) || bytes.size() % sizeof(float) != 0) {
    return FieldError(path, "is not base64 float32 data");
  }
  std::vector<float> values(bytes.size() / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

absl::StatusOr<EmbeddingResponse> ParseEmbeddings(const Json& body) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
  EmbeddingResponse response;
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> model,
                           formats::GetOptionalString(body, "model", ""));
  response.model = model.value_or("");
  FORMATS_ASSIGN_OR_RETURN(const Json* data, formats::GetArray(body, "data", "", true));
  std::map<int64_t, std::vector<float>> by_index;
  for (size_t i = 0; i < data->size(); ++i) {
    const std::string path = IndexPath("data", i);
    const Json& item = (*data)[i];
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(item, path));
    FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> index,
                             formats::GetOptionalInt(item, "index", path, 0));
    const int64_t at = index.value_or(static_cast<int64_t>(i));
    const Json* embedding = Find(item, "embedding");
    const std::string embedding_path = formats::FieldPath(path, "embedding");
    std::vector<float> values;
    if (embedding != nullptr && embedding->is_string()) {
      FORMATS_ASSIGN_OR_RETURN(values, DecodeFloats(embedding->get<std::string>(), embedding_path));
    } else if (embedding != nullptr && embedding->is_array()) {
      for (const Json& x : *embedding) {
        if (!x.is_number()) return FieldError(embedding_path, "must hold numbers");
        values.push_back(x.get<float>());
      }
    } else {
      return FieldError(embedding_path, "must be an array of numbers or a base64 string");
    }
    if (!by_index.emplace(at, std::move(values)).second) {
      return FieldError(formats::FieldPath(path, "index"), "is duplicated");
    }
  }
  for (auto& [index, values] : by_index) response.embeddings.push_back(std::move(values));
  if (const Json* usage = Find(body, "usage")) {
    FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> prompt,
                             formats::GetOptionalInt(*usage, "prompt_tokens", "usage", 0));
    response.usage.input_tokens = prompt.value_or(0);
  }
  return response;
}

}  // namespace

absl::StatusOr<EmbeddingCall> ParseEmbeddingRequest(const Json& body) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
  EmbeddingCall call;
  FORMATS_ASSIGN_OR_RETURN(call.request.model, formats::GetString(body, "model", ""));
  const Json* input = Find(body, "input");
  if (input == nullptr) return FieldError("input", "is required");
  constexpr std::string_view kTokens =
      "token-array inputs are not supported; send text (a string or an array of strings)";
  if (input->is_string()) {
    call.request.inputs.push_back(input->get<std::string>());
  } else if (input->is_array()) {
    if (input->empty()) return FieldError("input", "must not be empty");
    for (size_t i = 0; i < input->size(); ++i) {
      const Json& item = (*input)[i];
      if (item.is_number_integer() || item.is_array()) return FieldError("input", kTokens);
      if (!item.is_string()) {
        return FieldError(IndexPath("input", i),
                          StrCat("must be a string, got ", formats::TypeName(item)));
      }
      call.request.inputs.push_back(item.get<std::string>());
    }
  } else {
    return FieldError("input", StrCat("must be a string or an array of strings, got ",
                                      formats::TypeName(*input)));
  }
  FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> dimensions,
                           formats::GetOptionalInt(body, "dimensions", "", 1));
  if (dimensions) {
    if (*dimensions > 65536) return FieldError("dimensions", "must be <= 65536");
    call.request.dimensions = static_cast<int>(*dimensions);
  }
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> encoding,
                           formats::GetOptionalString(body, "encoding_format", ""));
  if (encoding && *encoding == "base64") {
    call.encoding = EmbeddingEncoding::kBase64;
  } else if (encoding && *encoding != "float") {
    return FieldError("encoding_format", StrCat("unknown value '", *encoding, "' (float, base64)"));
  }
  return call;
}

Json RenderEmbeddingRequest(const EmbeddingRequest& request) {
  Json body = {{"model", request.model}, {"input", request.inputs}, {"encoding_format", "float"}};
  if (request.dimensions) body["dimensions"] = *request.dimensions;
  return body;
}

absl::StatusOr<EmbeddingResponse> ParseEmbeddingResponse(const Json& body) {
  absl::StatusOr<EmbeddingResponse> response = ParseEmbeddings(body);
  if (!response.ok()) return formats::UpstreamError(response.status());
  return response;
}

Json RenderEmbeddingResponse(const EmbeddingResponse& response, EmbeddingEncoding encoding) {
  Json data = Json::array();
  for (size_t i = 0; i < response.embeddings.size(); ++i) {
    const std::vector<float>& values = response.embeddings[i];
    data.push_back(
        {{"object", "embedding"},
         {"index", i},
         {"embedding",
          encoding == EmbeddingEncoding::kBase64 ? Json(EncodeFloats(values)) : Json(values)}});
  }
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", response.model},
          {"usage",
           {{"prompt_tokens", response.usage.input_tokens},
            {"total_tokens", response.usage.input_tokens}}}};
}

Json RenderModelList(const std::vector<ModelInfo>& models, int64_t created) {
  Json data = Json::array();
  for (const ModelInfo& m : models) {
    data.push_back({{"id", m.id},
                    {"object", "model"},
                    {"created", created},
                    {"owned_by", m.owned_by.empty() ? m.provider : m.owned_by}});
  }
  return {{"object", "list"}, {"data", std::move(data)}};
}

absl::StatusOr<std::vector<ModelInfo>> ParseModelList(const Json& body) {
  std::vector<ModelInfo> models;
  absl::Status status = [&]() -> absl::Status {
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
    FORMATS_ASSIGN_OR_RETURN(const Json* data, formats::GetArray(body, "data", "", true));
    for (size_t i = 0; i < data->size(); ++i) {
      const std::string path = IndexPath("data", i);
      FORMATS_RETURN_IF_ERROR(formats::ExpectObject((*data)[i], path));
      ModelInfo info;
      FORMATS_ASSIGN_OR_RETURN(info.id, formats::GetString((*data)[i], "id", path));
      FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> owner,
                               formats::GetOptionalString((*data)[i], "owned_by", path));
      info.owned_by = owner.value_or("");
      models.push_back(std::move(info));
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) return formats::UpstreamError(status);
  return models;
}

}  // namespace basalt::models::openai
