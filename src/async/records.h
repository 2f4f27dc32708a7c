// What the async pattern stores and shows: queue names, how a genai job's
// payload is laid out, the API view of an invocation, and the events that
// report its transitions (docs/ASYNC.md).
//
// A job's payload (JSON, opaque to the bus):
//   {"format": "openai" | "anthropic", "model": "...", "body": {chat body},
//    "client_token"?, "callback_url"?, "callback_secret"?, "metadata"?,
//    "batch_id"?, "record_id"?, "s3_uri"?, "origin"?: "rule:<name>"}
// The result stored on completion is the chat response in the same format.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bus/bus.h"

namespace basalt::async {

inline constexpr std::string_view kGenaiQueue = "genai";
inline constexpr std::string_view kWebhookQueue = "webhooks";
inline constexpr std::string_view kEventSource = "basalt.async";

// RFC 3339 UTC with milliseconds: "2026-11-29T01:02:03.456Z".
std::string IsoTime(int64_t unix_ms);

// The API's status for a job: queued, processing, completed, failed, cancelled.
std::string_view StatusName(bus::JobState state);
// The reverse, for filters; false when `name` is not one of the five.
bool ParseStatus(std::string_view name, bus::JobState* state);

// The payload as JSON (an object; empty object when unparsable).
nlohmann::json PayloadOf(const bus::Job& job);

// The API record of an invocation (docs/ASYNC.md), with `result` when asked.
nlohmann::json RenderInvocation(const bus::Job& job, const nlohmann::json& payload,
                                bool with_result);

// An event in EventBridge's envelope reporting a genai job's transition;
// `kind` is "received", "processing", "completed", "failed" or "cancelled".
bus::Event RequestEvent(std::string_view kind, const bus::Job& job,
                        const nlohmann::json& payload, int64_t now_ms);

// A custom event (POST /v1/events) in the same envelope.
bus::Event CustomEvent(std::string tenant, std::string source, std::string detail_type,
                       nlohmann::json detail, int64_t now_ms);

// {"code": ..., "message": ...} as JSON text.
std::string ErrorJson(std::string_view code, std::string_view message);

// Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))].
std::chrono::milliseconds Backoff(int attempt, int64_t base_ms, int64_t cap_ms, std::mt19937_64& rng);

// Lowercase hex HMAC-SHA256(key, data).
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// Lowercase hex SHA-256(data).
std::string Sha256Hex(std::string_view data);

int64_t UnixMs(std::chrono::system_clock::time_point t);

}  // namespace basalt::async
