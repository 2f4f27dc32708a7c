#include "net/sse_parser.h"

#include <charconv>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace basalt::net {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void AppendWithoutNewlines(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
}

}  // namespace

SseParser::SseParser(size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

void SseParser::Reset() {
  status_ = absl::OkStatus();
  partial_.clear();
  skip_lf_ = false;
  first_line_ = true;
  has_data_ = false;
  data_.clear();
  event_.clear();
  last_id_.clear();
  retry_ms_.reset();
}

absl::Status SseParser::Feed(std::string_view bytes,
                             const std::function<void(SseEvent&&)>& on_event) {
  if (!status_.ok()) return status_;
  size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes[0] == '\n') pos = 1;
  }
  while (pos < bytes.size()) {
    const size_t eol = bytes.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) {
      // No terminator yet: keep the tail, bounded.
      if (partial_.size() + (bytes.size() - pos) > max_event_bytes_) {
        status_ = absl::ResourceExhaustedError(
            absl::StrCat("SSE line exceeds ", max_event_bytes_, " bytes"));
        return status_;
      }
      partial_.append(bytes.substr(pos));
      break;
    }
    std::string_view line = bytes.substr(pos, eol - pos);
    if (partial_.size() + line.size() > max_event_bytes_) {
      status_ = absl::ResourceExhaustedError(
          absl::StrCat("SSE line exceeds ", max_event_bytes_, " bytes"));
      return status_;
    }
    if (!partial_.empty()) {
      partial_.append(line);
      line = partial_;
    }
    if (absl::Status s = ProcessLine(line, on_event); !s.ok()) {
      status_ = std::move(s);
      return status_;
    }
    partial_.clear();
    size_t next = eol + 1;
    if (bytes[eol] == '\r') {
      if (next < bytes.size()) {
        if (bytes[next] == '\n') ++next;
      } else {
        skip_lf_ = true;  // the LF of a CRLF may start the next Feed
      }
    }
    pos = next;
  }
  return absl::OkStatus();
}

absl::Status SseParser::CheckEventSize() const {
  if (data_.size() + event_.size() + last_id_.size() > max_event_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("SSE event exceeds ", max_event_bytes_, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status SseParser::ProcessLine(std::string_view line,
                                    const std::function<void(SseEvent&&)>& on_event) {
  if (first_line_) {
    first_line_ = false;
    if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {
    // Blank line: dispatch. No data field means no event, but the buffers reset.
    if (has_data_) {
      SseEvent event;
      event.event = std::move(event_);
      event.data = std::move(data_);
      event.id = last_id_;
      event.retry_ms = std::exchange(retry_ms_, std::nullopt);
      on_event(std::move(event));
    }
    has_data_ = false;
    data_.clear();
    event_.clear();
    return absl::OkStatus();
  }
  if (line.front() == ':') return absl::OkStatus();  // comment

  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }

  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
    return CheckEventSize();
  }
  if (field == "event") {
    event_.assign(value);
    return CheckEventSize();
  }
  if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
    return CheckEventSize();
  }
  if (field == "retry") {
    int64_t ms = 0;
    if (AllDigits(value)) {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec == std::errc() && end == value.data() + value.size()) retry_ms_ = ms;  // else overflow
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();  // unknown fields are ignored
}

std::string FormatSseEvent(std::string_view event, std::string_view data, std::string_view id) {
  std::string out;
  out.reserve(event.size() + id.size() + data.size() + 32);
  if (!event.empty()) {
    out.append("event: ");
    AppendWithoutNewlines(out, event);
    out.push_back('\n');
  }
  if (!id.empty()) {
    out.append("id: ");
    AppendWithoutNewlines(out, id);
    out.push_back('\n');
  }
  size_t pos = 0;
  while (true) {
    const size_t eol = data.find_first_of("\r\n", pos);
    out.append("data: ");
    out.append(data.substr(pos, eol == std::string_view::npos ? data.size() - pos : eol - pos));
    out.push_back('\n');
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
    if (data[eol] == '\r' && pos < data.size() && data[pos] == '\n') ++pos;
  }
  out.push_back('\n');
  return out;
}

}  // namespace basalt::net
