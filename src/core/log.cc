#include "core/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/strings.h"
#include "core/json_escape.h"

namespace basalt::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::shared_ptr<spdlog::logger> g_logger;  // set once by Init before threads start

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug") *out = Level::kDebug;
  else if (text == "info") *out = Level::kInfo;
  else if (text == "warn") *out = Level::kWarn;
  else if (text == "error") *out = Level::kError;
  else return false;
  return true;
}

void Init(Level level) {
  g_level = static_cast<int>(level);
  if (g_logger) return;
  spdlog::init_thread_pool(16384, 1);
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  g_logger = std::make_shared<spdlog::async_logger>(
      "basalt", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::overrun_oldest);
  g_logger->set_pattern("%v");
  g_logger->set_level(spdlog::level::trace);
  // Lines reach stderr through a buffer flushed every second (and at once for
  // warnings and errors), so a busy access log costs few system calls.
  static char buffer[1 << 16];
  std::setvbuf(stderr, buffer, _IOFBF, sizeof(buffer));
  g_logger->flush_on(spdlog::level::warn);
  spdlog::flush_every(std::chrono::seconds(1));
}

void Shutdown() {
  if (g_logger) g_logger->flush();
  spdlog::shutdown();
  g_logger.reset();
  std::fflush(stderr);
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

std::string NowIso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string Format(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(96 + msg.size());
  StrAppend(&out, R"({"ts":")", NowIso8601(), R"(","level":")", LevelName(level),
                  R"(","msg":")");
  AppendJsonEscaped(out, msg);
  out += '"';
  for (const Field& f : fields) {
    out += ",\"";
    AppendJsonEscaped(out, f.key);
    out += "\":";
    if (auto* s = std::get_if<std::string_view>(&f.value)) {
      out += '"';
      AppendJsonEscaped(out, *s);
      out += '"';
    } else if (auto* i = std::get_if<int64_t>(&f.value)) {
      StrAppend(&out, *i);
    } else if (auto* d = std::get_if<double>(&f.value)) {
      StrAppend(&out, *d);
    } else {
      out += std::get<bool>(f.value) ? "true" : "false";
    }
  }
  out += '}';
  return out;
}

void WriteRaw(std::string&& json_line, Level level) {
  if (g_logger) {
    g_logger->log(level >= Level::kWarn ? spdlog::level::warn : spdlog::level::info, spdlog::string_view_t(json_line.data(), json_line.size()));
  } else {
    std::fprintf(stderr, "%s\n", json_line.c_str());
  }
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  WriteRaw(Format(level, msg, fields), level);
}

}  // namespace basalt::log
