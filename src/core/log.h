// Structured logs: one JSON object per line on stderr, written by a background
// thread so callers (io threads included) never block on the terminal or disk.
// Lines are batched per thread and written at least every 200 ms (warnings and
// errors at once). When the writer falls behind, lines are dropped, never the
// caller blocked; DroppedBuffers() counts the loss.
//
//   log::Info("listening", {{"addr", addr}, {"port", port}});
//
// Thread-safe after Init(); before Init() lines go to stderr synchronously.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace basalt::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, unsigned v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, unsigned long v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;
};

// Parses "debug" | "info" | "warn" | "error".
bool ParseLevel(std::string_view text, Level* out);

// Starts the background writer. Safe to call once at start-up.
void Init(Level level);
// Flushes and stops the background writer (at exit).
void Shutdown();
// Batches of lines dropped because the writer fell behind.
uint64_t DroppedBuffers();

bool Enabled(Level level);
void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
// Writes an already-formatted JSON object line (the access log builds its own).
void WriteRaw(std::string&& json_line, Level level = Level::kInfo);

// The JSON line Write would emit; exposed for tests.
std::string Format(Level level, std::string_view msg, std::initializer_list<Field> fields);

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }

// ISO-8601 UTC with milliseconds, e.g. 2026-11-28T22:05:33.123Z.
std::string NowIso8601();

}  // namespace basalt::log
