#include "bus/rules/wildcard.h"

#include "core/strings.h"

namespace basalt::bus {

absl::StatusOr<WildcardPattern> WildcardPattern::Compile(std::string_view pattern) {
  WildcardPattern out;
  std::string piece;
  bool last_was_star = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size() || (pattern[i + 1] != '*' && pattern[i + 1] != '\\')) {
        return absl::InvalidArgumentError(
            "invalid escape: a backslash may only escape '*' or '\\'");
      }
      piece.push_back(pattern[++i]);
      last_was_star = false;
    } else if (c == '*') {
      // "**" means the same as "*" but event-ruler rejects it, and so do we, so
      // patterns written here stay portable to EventBridge.
      if (last_was_star) {
        return absl::InvalidArgumentError("consecutive wildcard characters are not allowed");
      }
      out.pieces_.push_back(std::move(piece));
      piece.clear();
      last_was_star = true;
    } else {
      piece.push_back(c);
      last_was_star = false;
    }
  }
  out.pieces_.push_back(std::move(piece));
  return out;
}

bool WildcardPattern::Matches(std::string_view text) const {
  if (pieces_.empty()) return text.empty();  // default-constructed: matches ""
  if (pieces_.size() == 1) return text == pieces_[0];
  // With at least one star the first piece anchors the start and the last the
  // end; every middle piece is found leftmost-first. Taking the leftmost
  // occurrence is never worse than a later one, so no backtracking is needed.
  const std::string& head = pieces_.front();
  const std::string& tail = pieces_.back();
  if (head.size() + tail.size() > text.size()) return false;
  if (text.substr(0, head.size()) != head) return false;
  if (text.substr(text.size() - tail.size()) != tail) return false;
  std::string_view middle = text.substr(head.size(), text.size() - head.size() - tail.size());
  for (size_t i = 1; i + 1 < pieces_.size(); ++i) {
    const size_t at = middle.find(pieces_[i]);
    if (at == std::string_view::npos) return false;
    middle.remove_prefix(at + pieces_[i].size());
  }
  return true;
}

}  // namespace basalt::bus
