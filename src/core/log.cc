#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/json_escape.h"
#include "core/strings.h"

namespace basalt::log {
namespace {

// Log lines are appended to a per-thread buffer (an uncontended lock and a
// memcpy, no allocation in steady state). A writer thread collects full
// buffers, and every buffer at least every 200 ms, and writes them to stderr
// in large writes. Memory is bounded: when the writer falls behind by more
// than kMaxQueued buffers, further lines are dropped and counted.
constexpr size_t kBufferBytes = 64 * 1024;
constexpr size_t kMaxQueued = 64;  // 4 MiB of pending log text at most
constexpr auto kFlushInterval = std::chrono::milliseconds(200);

struct ThreadBuffer {
  std::mutex mu;
  std::string data;
};

class Writer {
 public:
  void Start() {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (!running_) return;
      running_ = false;
    }
    cv_.notify_all();
    thread_.join();
    FlushAll();
  }

  bool running() const { return running_; }

  void Append(std::string_view line, bool urgent) {
    thread_local std::shared_ptr<ThreadBuffer> mine = Register();
    std::string full;
    {
      std::lock_guard lock(mine->mu);
      mine->data.append(line);
      mine->data.push_back('\n');
      if (mine->data.size() < kBufferBytes && !urgent) return;
      full.swap(mine->data);
      mine->data.reserve(kBufferBytes + 1024);
    }
    Enqueue(std::move(full));
  }

  uint64_t dropped() const { return dropped_.load(); }

 private:
  std::shared_ptr<ThreadBuffer> Register() {
    auto buffer = std::make_shared<ThreadBuffer>();
    buffer->data.reserve(kBufferBytes + 1024);
    std::lock_guard lock(mu_);
    buffers_.push_back(buffer);
    return buffer;
  }

  void Enqueue(std::string&& chunk) {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= kMaxQueued) {
        dropped_.fetch_add(1);
        return;
      }
      queue_.push_back(std::move(chunk));
    }
    cv_.notify_one();
  }

  void Loop() {
    std::unique_lock lock(mu_);
    while (running_) {
      cv_.wait_for(lock, kFlushInterval, [this] { return !queue_.empty() || !running_; });
      lock.unlock();
      FlushAll();
      lock.lock();
    }
  }

  // Writes queued chunks, then whatever each thread has buffered.
  void FlushAll() {
    std::deque<std::string> chunks;
    std::vector<std::shared_ptr<ThreadBuffer>> buffers;
    {
      std::lock_guard lock(mu_);
      chunks.swap(queue_);
      buffers = buffers_;
    }
    for (const auto& c : chunks) WriteAll(c);
    std::string pending;
    for (const auto& b : buffers) {
      {
        std::lock_guard lock(b->mu);
        pending.swap(b->data);
        b->data.reserve(kBufferBytes + 1024);
      }
      WriteAll(pending);
      pending.clear();
    }
  }

  static void WriteAll(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return;  // stderr closed or full disk: logs are lost, the server goes on
      }
      text.remove_prefix(static_cast<size_t>(n));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  std::thread thread_;
  std::deque<std::string> queue_;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers_;
  std::atomic<uint64_t> dropped_{0};
};

Writer& TheWriter() {
  static Writer* writer = new Writer();  // never destroyed: threads may log during exit
  return *writer;
}

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

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
  TheWriter().Start();
}

void Shutdown() { TheWriter().Stop(); }

uint64_t DroppedBuffers() { return TheWriter().dropped(); }

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

std::string NowIso8601() {
  // The text up to the second changes once a second; format it once per thread.
  thread_local std::time_t cached_second = -1;
  thread_local char prefix[32];
  const auto now = std::chrono::system_clock::now();
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(since_epoch / 1000);
  if (secs != cached_second) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = secs;
  }
  char out[40];
  std::snprintf(out, sizeof(out), "%s.%03dZ", prefix, static_cast<int>(since_epoch % 1000));
  return out;
}

std::string Format(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(96 + msg.size());
  StrAppend(&out, R"({"ts":")", NowIso8601(), R"(","level":")", LevelName(level), R"(","msg":")");
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
  if (TheWriter().running()) {
    TheWriter().Append(json_line, level >= Level::kWarn);
  } else {
    std::fprintf(stderr, "%s\n", json_line.c_str());
  }
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  WriteRaw(Format(level, msg, fields), level);
}

}  // namespace basalt::log
