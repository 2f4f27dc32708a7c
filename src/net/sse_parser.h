// Server-Sent Events: an incremental parser for the `text/event-stream` format as the
// WHATWG HTML spec defines it (section "Server-sent events", "Interpreting an event
// stream"), and the formatter the server's SSE writer uses.
//
// Thread-safety: an SseParser is a plain value; use one per stream from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace basalt::net {

struct SseEvent {
  // The `event:` field. Left EMPTY when the stream did not name the event; per the
  // spec an empty name means the default type "message".
  std::string event;
  // The `data:` lines joined with '\n' (no trailing newline).
  std::string data;
  // The last event ID: per the spec it persists across events until an `id:` field
  // changes it, so it is the stream's last ID, not only this block's.
  std::string id;
  // A valid `retry:` field (all ASCII digits) seen since the previous dispatched
  // event; the spec ties it to the stream, so it is reported with the next event.
  std::optional<int64_t> retry_ms;

  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  // `max_event_bytes` bounds memory: a single line, or the data + event name + id of
  // one event, larger than this makes Feed fail with kResourceExhausted.
  explicit SseParser(size_t max_event_bytes = size_t{1} << 20);

  // Consumes the next bytes of the stream, which may be split anywhere (even between
  // CR and LF, or inside a UTF-8 sequence), and calls `on_event` for every event
  // completed by a blank line. A leading UTF-8 BOM is skipped. An incomplete event at
  // the end of the stream is never dispatched (as the spec requires).
  // Errors: kResourceExhausted when a line or event exceeds `max_event_bytes`. After
  // an error the parser stays failed: later calls return the same status until
  // Reset().
  absl::Status Feed(std::string_view bytes, const std::function<void(SseEvent&&)>& on_event);

  // Forgets the partial line and event, the last event ID and any error.
  void Reset();

  // The last event ID seen so far (what a reconnecting client sends as
  // `Last-Event-ID`).
  const std::string& last_event_id() const { return last_id_; }

 private:
  absl::Status ProcessLine(std::string_view line, const std::function<void(SseEvent&&)>& on_event);
  absl::Status CheckEventSize() const;

  size_t max_event_bytes_;
  absl::Status status_;     // sticky: the first error
  std::string partial_;     // bytes of a line not yet terminated
  bool skip_lf_ = false;    // the previous Feed ended with CR: a leading LF ends no line
  bool first_line_ = true;  // the BOM check applies to the stream's first line only
  bool has_data_ = false;   // at least one `data:` field since the last dispatch
  std::string data_;        // data lines joined with '\n'
  std::string event_;       // event type buffer
  std::string last_id_;     // last event ID buffer
  std::optional<int64_t> retry_ms_;
};

// One event in wire form: `event:` (if non-empty), `id:` (if non-empty), one `data:`
// line per line of `data` (split on CRLF, LF or CR; an empty `data` still yields one
// `data:` line so the event is dispatched), then the blank line. CR and LF inside
// `event` and `id` are removed so they cannot inject fields.
std::string FormatSseEvent(std::string_view event, std::string_view data, std::string_view id = {});

}  // namespace basalt::net
