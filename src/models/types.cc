#include "models/types.h"

namespace basalt::models {

std::string_view StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kEndTurn: return "end_turn";
    case StopReason::kMaxTokens: return "max_tokens";
    case StopReason::kStopSequence: return "stop_sequence";
    case StopReason::kToolUse: return "tool_use";
    case StopReason::kContentFiltered: return "content_filtered";
  }
  return "end_turn";
}

}  // namespace basalt::models
