#include "models/builtin/extractive_chat.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/ids.h"
#include "core/strings.h"
#include "models/builtin/ranker.h"
#include "models/builtin/schema_filler.h"
#include "models/builtin/sentences.h"
#include "models/builtin/terms.h"
#include "models/builtin/tokenizer.h"

namespace basalt::models::builtin {
namespace {

using nlohmann::json;

constexpr size_t kDefaultSentences = 3;
constexpr int64_t kTokensPerSentence = 24;

// Compact JSON text; invalid UTF-8 is replaced rather than thrown on.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

struct Conversation {
  std::vector<std::string> candidates;
  std::string question;        // the sentences being answered
  std::string last_user_text;  // the whole last user message, for tool inputs
};

void AddSentences(std::string_view text, std::vector<std::string>* out) {
  for (std::string_view s : SplitSentences(text)) out->emplace_back(s);
}

void AddBlock(const ContentBlock& block, std::vector<std::string>* out) {
  switch (block.type) {
    case ContentBlock::Type::kText:
      AddSentences(block.text, out);
      break;
    case ContentBlock::Type::kJson:
      out->push_back(Dump(block.json));
      break;
    case ContentBlock::Type::kToolResult:
      for (const auto& inner : block.tool_result.content) AddBlock(inner, out);
      break;
    case ContentBlock::Type::kImage:
    case ContentBlock::Type::kToolUse:
      break;
  }
}

bool HasText(const Message& m) {
  return std::any_of(m.content.begin(), m.content.end(), [](const ContentBlock& b) {
    return b.type == ContentBlock::Type::kText && !SplitSentences(b.text).empty();
  });
}

Conversation Gather(const ChatRequest& request) {
  Conversation c;
  int query_index = -1;
  for (int i = static_cast<int>(request.messages.size()) - 1; i >= 0; --i) {
    if (request.messages[i].role == Role::kUser && HasText(request.messages[i])) {
      query_index = i;
      break;
    }
  }
  AddSentences(request.system, &c.candidates);
  for (int i = 0; i < static_cast<int>(request.messages.size()); ++i) {
    const Message& m = request.messages[i];
    if (i != query_index) {
      for (const auto& block : m.content) AddBlock(block, &c.candidates);
      continue;
    }
    for (const auto& block : m.content) {
      if (block.type == ContentBlock::Type::kText) {
        if (!c.last_user_text.empty()) c.last_user_text += "\n";
        c.last_user_text += block.text;
      } else {
        AddBlock(block, &c.candidates);
      }
    }
    const std::vector<std::string_view> sentences = SplitSentences(c.last_user_text);
    const bool any_question = std::any_of(sentences.begin(), sentences.end(), IsQuestion);
    for (size_t k = 0; k < sentences.size(); ++k) {
      const bool is_query = any_question ? IsQuestion(sentences[k]) : k + 1 == sentences.size();
      if (is_query) {
        StrAppend(&c.question, c.question.empty() ? "" : " ", sentences[k]);
      } else {
        c.candidates.emplace_back(sentences[k]);
      }
    }
  }
  // A question is never an answer (an earlier turn may have asked the same).
  std::set<std::string> seen;
  std::erase_if(c.candidates,
                [&](const std::string& s) { return IsQuestion(s) || !seen.insert(s).second; });
  return c;
}

std::string ExtractAnswer(const Conversation& c, const std::optional<int64_t>& max_tokens) {
  std::vector<std::vector<std::string>> candidate_terms;
  candidate_terms.reserve(c.candidates.size());
  for (const auto& s : c.candidates) candidate_terms.push_back(ExtractTerms(s));
  const std::vector<double> scores = Bm25Scores(candidate_terms, ExtractTerms(c.question));
  size_t limit = kDefaultSentences;
  if (max_tokens.has_value()) {
    limit = static_cast<size_t>(std::clamp<int64_t>(*max_tokens / kTokensPerSentence, 1,
                                                    static_cast<int64_t>(kDefaultSentences)));
  }
  const std::vector<size_t> chosen = SelectTop(scores, limit);
  if (chosen.empty()) return std::string(kNoAnswer);
  std::string answer;
  for (size_t i : chosen) StrAppend(&answer, answer.empty() ? "" : " ", c.candidates[i]);
  return answer;
}

// Cuts `text` where generation would have ended: before the stop sequence
// that is completed first (earliest end; at equal ends the earliest start), or
// after the max_tokens-th token if that comes before any stop sequence is
// complete. Records why on `response`.
void ApplyLimits(std::string text, const ChatRequest& request, ChatResponse* response) {
  size_t stop_at = std::string::npos;
  size_t stop_end = std::string::npos;
  std::string stop_sequence;
  for (const auto& stop : request.stop) {
    if (stop.empty()) continue;
    const size_t pos = text.find(stop);
    if (pos == std::string::npos) continue;
    const size_t end = pos + stop.size();
    if (end < stop_end || (end == stop_end && pos < stop_at)) {
      stop_at = pos;
      stop_end = end;
      stop_sequence = stop;
    }
  }
  size_t budget_at = std::string::npos;
  if (request.max_tokens.has_value()) {
    const std::vector<TokenSpan> spans = Tokenize(text);
    if (static_cast<int64_t>(spans.size()) > *request.max_tokens) {
      budget_at = spans[static_cast<size_t>(*request.max_tokens) - 1].end;
    }
  }
  response->stop_reason = StopReason::kEndTurn;
  if (stop_end != std::string::npos && stop_end <= budget_at) {
    text.resize(stop_at);
    response->stop_reason = StopReason::kStopSequence;
    response->stop_sequence = stop_sequence;
  } else if (budget_at != std::string::npos) {
    text.resize(budget_at);
    response->stop_reason = StopReason::kMaxTokens;
  }
  response->usage.output_tokens = CountTokens(text);
  response->content.push_back(ContentBlock::Text(std::move(text)));
}

absl::StatusOr<const ToolSpec*> ForcedTool(const ChatRequest& request) {
  if (!request.tool_choice.has_value()) return nullptr;
  const ToolChoice& choice = *request.tool_choice;
  if (choice.mode == ToolChoice::Mode::kAny) {
    if (request.tools.empty()) {
      return absl::InvalidArgumentError("tool_choice: forcing a tool requires at least one tool");
    }
    return &request.tools.front();
  }
  if (choice.mode != ToolChoice::Mode::kTool) return nullptr;
  for (const auto& tool : request.tools) {
    if (tool.name == choice.name) return &tool;
  }
  return absl::InvalidArgumentError(
      StrCat("tool_choice.name: no tool named '", choice.name, "' in tools"));
}

int64_t BlockTokens(const ContentBlock& block) {
  switch (block.type) {
    case ContentBlock::Type::kText:
      return CountTokens(block.text);
    case ContentBlock::Type::kJson:
      return CountTokens(Dump(block.json));
    case ContentBlock::Type::kImage:
      return kImageTokens;
    case ContentBlock::Type::kToolUse:
      return CountTokens(block.tool_use.name) + CountTokens(Dump(block.tool_use.input));
    case ContentBlock::Type::kToolResult: {
      int64_t n = 0;
      for (const auto& inner : block.tool_result.content) n += BlockTokens(inner);
      return n;
    }
  }
  return 0;
}

}  // namespace

int64_t CountInputTokens(const ChatRequest& request) {
  int64_t n = CountTokens(request.system);
  for (const auto& m : request.messages) {
    for (const auto& block : m.content) n += BlockTokens(block);
  }
  for (const auto& tool : request.tools) {
    n += CountTokens(tool.name) + CountTokens(tool.description) +
         CountTokens(Dump(tool.input_schema));
  }
  return n;
}

absl::StatusOr<ChatResponse> AnswerChat(const ChatRequest& request) {
  if (request.messages.empty()) return absl::InvalidArgumentError("messages: must not be empty");
  if (request.max_tokens.has_value() && *request.max_tokens < 1) {
    return absl::InvalidArgumentError("max_tokens: must be at least 1");
  }
  absl::StatusOr<const ToolSpec*> tool = ForcedTool(request);
  if (!tool.ok()) return tool.status();

  ChatResponse response;
  response.id = NewId("msg_");
  response.model = request.model.empty() ? std::string(kDefaultChatModel) : request.model;
  response.usage.input_tokens = CountInputTokens(request);
  const Conversation conversation = Gather(request);
  if (*tool != nullptr) {
    ToolUse use;
    use.id = NewId("toolu_");
    use.name = (*tool)->name;
    use.input = FillFromSchema((*tool)->input_schema, conversation.last_user_text);
    response.usage.output_tokens = CountTokens(use.name) + CountTokens(Dump(use.input));
    response.content.push_back(ContentBlock::ToolCall(std::move(use)));
    response.stop_reason = StopReason::kToolUse;
    return response;
  }
  ApplyLimits(ExtractAnswer(conversation, request.max_tokens), request, &response);
  return response;
}

}  // namespace basalt::models::builtin
