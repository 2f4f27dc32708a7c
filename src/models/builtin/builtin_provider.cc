#include "models/builtin/builtin_provider.h"

#include <utility>

#include "absl/status/status.h"
#include "core/strings.h"
#include "models/builtin/chat_stream.h"
#include "models/builtin/embedder.h"
#include "models/builtin/extractive_chat.h"
#include "models/builtin/tokenizer.h"

namespace basalt::models {
namespace {

static_assert(BuiltinProvider::kDimensions == builtin::kEmbeddingDimensions);

absl::Status CheckDeadline(const RequestContext& ctx) {
  if (ctx.Expired())
    return absl::DeadlineExceededError("deadline exceeded before the builtin model ran");
  return absl::OkStatus();
}

absl::StatusOr<EmbeddingResponse> EmbedAll(const EmbeddingRequest& request) {
  if (request.inputs.empty()) return absl::InvalidArgumentError("input: must not be empty");
  if (request.dimensions.has_value() && *request.dimensions != BuiltinProvider::kDimensions) {
    return absl::InvalidArgumentError(StrCat("dimensions: ", BuiltinProvider::kEmbedModel, " has ",
                                             BuiltinProvider::kDimensions, " dimensions, got ",
                                             *request.dimensions));
  }
  EmbeddingResponse response;
  response.model =
      request.model.empty() ? std::string(BuiltinProvider::kEmbedModel) : request.model;
  response.embeddings.reserve(request.inputs.size());
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    absl::StatusOr<std::vector<float>> vec = builtin::EmbedText(request.inputs[i]);
    if (!vec.ok()) {
      return absl::InvalidArgumentError(StrCat("input[", i, "]: ", ToStd(vec.status().message())));
    }
    response.embeddings.push_back(*std::move(vec));
    response.usage.input_tokens += builtin::CountTokens(request.inputs[i]);
  }
  return response;
}

}  // namespace

boost::asio::awaitable<absl::StatusOr<ChatResponse>> BuiltinProvider::Chat(
    const RequestContext& ctx, const ChatRequest& request) {
  if (absl::Status s = CheckDeadline(ctx); !s.ok()) co_return s;
  co_return builtin::AnswerChat(request);
}

boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> BuiltinProvider::StreamChat(
    const RequestContext& ctx, const ChatRequest& request) {
  if (absl::Status s = CheckDeadline(ctx); !s.ok()) co_return s;
  absl::StatusOr<ChatResponse> response = builtin::AnswerChat(request);
  if (!response.ok()) co_return response.status();
  std::unique_ptr<ChatStream> stream =
      std::make_unique<builtin::BuiltinChatStream>(builtin::ToDeltas(*response), ctx.deadline);
  co_return std::move(stream);
}

boost::asio::awaitable<absl::StatusOr<EmbeddingResponse>> BuiltinProvider::Embed(
    const RequestContext& ctx, const EmbeddingRequest& request) {
  if (absl::Status s = CheckDeadline(ctx); !s.ok()) co_return s;
  co_return EmbedAll(request);
}

boost::asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> BuiltinProvider::ListModels(
    const RequestContext& ctx) {
  std::vector<ModelInfo> models;
  for (std::string_view id : {kChatModel, kEmbedModel}) {
    ModelInfo info;
    info.id = std::string(id);
    info.provider = std::string(kName);
    info.owned_by = "basalt";
    models.push_back(std::move(info));
  }
  co_return models;
}

}  // namespace basalt::models
