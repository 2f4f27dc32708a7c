#include "async/records.h"

#include <openssl/evp.h>

#include <algorithm>
#include <ctime>
#include <functional>

#include "core/ids.h"
#include "core/json_escape.h"
#include "core/strings.h"

namespace basalt::async {

using nlohmann::json;

std::string IsoTime(int64_t unix_ms) {
  // Civil date from days since the epoch (Howard Hinnant's algorithm): no
  // locale, no gmtime_r, no printf on a path taken for every event.
  int64_t days = unix_ms >= 0 ? unix_ms / 86'400'000 : (unix_ms - 86'399'999) / 86'400'000;
  int64_t ms_of_day = unix_ms - days * 86'400'000;
  days += 719'468;
  const int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const int64_t doe = days - era * 146'097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[25] = "0000-00-00T00:00:00.000Z";
  auto put = [&buf](int at, int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, month, 2);
  put(8, day, 2);
  put(11, ms_of_day / 3'600'000, 2);
  put(14, ms_of_day / 60'000 % 60, 2);
  put(17, ms_of_day / 1000 % 60, 2);
  put(20, ms_of_day % 1000, 3);
  return std::string(buf, 24);
}

std::string_view StatusName(bus::JobState state) {
  switch (state) {
    case bus::JobState::kReady: return "queued";
    case bus::JobState::kLeased: return "processing";
    case bus::JobState::kSucceeded: return "completed";
    case bus::JobState::kDead: return "failed";
    case bus::JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

bool ParseStatus(std::string_view name, bus::JobState* state) {
  for (bus::JobState s : {bus::JobState::kReady, bus::JobState::kLeased,
                          bus::JobState::kSucceeded, bus::JobState::kDead,
                          bus::JobState::kCancelled}) {
    if (StatusName(s) == name) {
      *state = s;
      return true;
    }
  }
  return false;
}

json PayloadOf(const bus::Job& job) {
  json p = json::parse(job.payload, nullptr, /*allow_exceptions=*/false);
  return p.is_object() ? p : json::object();
}

namespace {

json TimeOrNull(int64_t ms) { return ms > 0 ? json(IsoTime(ms)) : json(nullptr); }

json StringOrNull(const json& payload, const char* key) {
  auto it = payload.find(key);
  return it != payload.end() && it->is_string() ? *it : json(nullptr);
}

json ParsedOrNull(const std::string& text) {
  if (text.empty()) return nullptr;
  json v = json::parse(text, nullptr, false);
  return v.is_discarded() ? json(nullptr) : v;
}

}  // namespace

json RenderInvocation(const bus::Job& job, const json& payload, bool with_result) {
  json out = {
      {"request_id", job.id},
      {"object", "async.invocation"},
      {"status", StatusName(job.state)},
      {"model", payload.value("model", "")},
      {"priority", job.priority},
      {"client_token", StringOrNull(payload, "client_token")},
      {"metadata", payload.contains("metadata") ? payload["metadata"] : json::object()},
      {"batch_id", StringOrNull(payload, "batch_id")},
      {"record_id", StringOrNull(payload, "record_id")},
      {"attempts", job.attempts},
      {"max_attempts", job.max_attempts},
      {"created_at", IsoTime(job.created_ms)},
      {"started_at", TimeOrNull(job.started_ms)},
      {"completed_at", TimeOrNull(bus::IsTerminal(job.state) ? job.finished_ms : 0)},
  };
  if (payload.contains("callback_url")) out["callback_url"] = payload["callback_url"];
  if (payload.contains("s3_uri")) out["s3_output_uri"] = payload["s3_uri"];
  if (with_result && job.state == bus::JobState::kSucceeded) {
    out["result"] = ParsedOrNull(job.result);
  }
  if (job.state == bus::JobState::kDead || job.state == bus::JobState::kCancelled ||
      (job.state == bus::JobState::kReady && !job.error.empty())) {
    out[job.state == bus::JobState::kReady ? "last_error" : "error"] = ParsedOrNull(job.error);
  }
  return out;
}

namespace {

// Writes the envelope by hand: every transition of every job makes one, and
// building a JSON tree only to serialise it cost a tenth of a submission.
class EnvelopeWriter {
 public:
  void Str(std::string_view key, std::string_view value) {
    Key(key);
    out_ += '"';
    AppendJsonEscaped(out_, value);
    out_ += '"';
  }
  void Int(std::string_view key, int64_t value) {
    Key(key);
    out_ += std::to_string(value);
  }
  void Raw(std::string_view key, std::string_view json_text) {
    Key(key);
    out_ += json_text;
  }
  void Open(std::string_view key) {
    Key(key);
    out_ += '{';
    first_ = true;
  }
  void Close() {
    out_ += '}';
    first_ = false;
  }
  std::string& out() { return out_; }
  void Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }

 private:
  std::string out_ = "{";
  bool first_ = true;
};

// `detail` writes the detail object's members.
bus::Event Envelope(std::string tenant, std::string_view source, std::string type,
                    std::string subject, const std::function<void(EnvelopeWriter&)>& detail,
                    int64_t now_ms) {
  bus::Event e;
  e.id = NewId("evt_");
  e.tenant = std::move(tenant);
  e.type = std::move(type);
  e.subject = std::move(subject);
  e.time_ms = now_ms;
  EnvelopeWriter w;
  w.Str("version", "0");
  w.Str("id", e.id);
  w.Str("source", source);
  w.Str("detail-type", e.type);
  w.Str("account", e.tenant);
  w.Str("tenant", e.tenant);
  w.Str("time", IsoTime(now_ms));
  w.Str("region", "local");
  if (e.subject.empty()) {
    w.Raw("resources", "[]");
  } else {
    w.Key("resources");
    w.out() += "[\"";
    AppendJsonEscaped(w.out(), e.subject);
    w.out() += "\"]";
  }
  w.Open("detail");
  detail(w);
  w.Close();
  w.out() += '}';
  e.body = std::move(w.out());
  return e;
}

}  // namespace

bus::Event RequestEvent(std::string_view kind, const bus::Job& job, const json& payload,
                        int64_t now_ms) {
  const int64_t started = job.started_ms > 0 ? job.started_ms : now_ms;
  const bool ended = kind == "completed" || kind == "failed" || kind == "cancelled";
  auto detail = [&](EnvelopeWriter& w) {
    w.Str("request_id", job.id);
    w.Str("tenant", job.tenant);
    auto model = payload.find("model");
    w.Str("model", model != payload.end() && model->is_string()
                       ? std::string_view(model->get_ref<const std::string&>())
                       : std::string_view());
    w.Str("status", kind == "received" ? "queued" : kind);
    w.Int("attempt", job.attempts);
    w.Int("priority", job.priority);
    auto metadata = payload.find("metadata");
    w.Raw("metadata", metadata != payload.end() ? metadata->dump() : "{}");
    w.Int("queued_ms", kind == "received" ? 0 : std::max<int64_t>(0, started - job.created_ms));
    if (ended) {
      w.Int("processing_ms",
            job.started_ms > 0 ? std::max<int64_t>(0, now_ms - started) : 0);
      w.Int("total_ms", std::max<int64_t>(0, now_ms - job.created_ms));
    }
    if (auto it = payload.find("batch_id"); it != payload.end()) w.Raw("batch_id", it->dump());
    if (auto it = payload.find("hops"); it != payload.end()) w.Raw("hops", it->dump());
    if (payload.contains("callback_url")) w.Raw("has_callback", "true");
    if (kind == "failed" || kind == "cancelled") w.Raw("error", ParsedOrNull(job.error).dump());
  };
  bus::Event e = Envelope(job.tenant, kEventSource, StrCat("genai.request.", kind), job.id,
                          detail, now_ms);
  // A terminal event of a request with a callback must reach the dispatcher whole.
  if (ended && payload.contains("callback_url")) e.flags = bus::Event::kFlagWanted;
  return e;
}

bus::Event CustomEvent(std::string tenant, std::string source, std::string detail_type,
                       json detail, int64_t now_ms) {
  const std::string text = detail.dump();
  return Envelope(
      std::move(tenant), source, std::move(detail_type), "",
      [&text](EnvelopeWriter& w) {
        // The detail object's members, without its braces.
        w.out() += std::string_view(text).substr(1, text.size() - 2);
      },
      now_ms);
}

std::string ErrorJson(std::string_view code, std::string_view message) {
  return json{{"code", code}, {"message", message}}.dump();
}

std::chrono::milliseconds Backoff(int attempt, int64_t base_ms, int64_t cap_ms,
                                  std::mt19937_64& rng) {
  const int shift = std::clamp(attempt - 1, 0, 30);
  const int64_t ceiling = std::min<int64_t>(cap_ms, base_ms << shift);
  if (ceiling <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<int64_t> dist(0, ceiling);
  return std::chrono::milliseconds(dist(rng));
}

namespace {
std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}
}  // namespace

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
                sizeof(mac), &len) == nullptr) {
    return "";
  }
  return Hex(mac, len);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  return Hex(md, len);
}

int64_t UnixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace basalt::async
