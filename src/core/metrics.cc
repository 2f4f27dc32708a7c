#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/strings.h"

namespace basalt::metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double by) {
  double cur = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Shortest text that parses back to the same double ("10", "0.25", "1e-05").
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

void CounterSeries::Inc(double by) {
  if (by < 0) return;  // counters only go up; a negative increment is a caller bug
  AtomicAdd(value_, by);
}
double CounterSeries::Value() const { return value_.load(std::memory_order_relaxed); }

void GaugeSeries::Add(double by) { AtomicAdd(value_, by); }

HistogramSeries::HistogramSeries(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0);
}

void HistogramSeries::Observe(double v) {
  const auto it = std::lower_bound(bounds_->begin(), bounds_->end(), v);
  buckets_[static_cast<size_t>(it - bounds_->begin())].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void HistogramSeries::Snapshot(std::vector<uint64_t>* cumulative, double* sum,
                               uint64_t* count) const {
  cumulative->assign(bounds_->size() + 1, 0);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    (*cumulative)[i] = running;
  }
  *sum = sum_.load(std::memory_order_relaxed);
  // The +Inf bucket must equal _count; derive count from the buckets so a scrape
  // racing an Observe never shows them disagreeing.
  *count = running;
}

void FamilyBase::RenderHeader(std::string* out) const {
  StrAppend(out, "# HELP ", name_, " ", EscapeHelp(help_), "\n# TYPE ", name_, " ",
                  TypeName(type_), "\n");
}

std::string FamilyBase::LabelText(const std::vector<std::string>& values,
                                  std::string_view extra_key, std::string_view extra_value) const {
  if (labels_.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (!first) out += ',';
    first = false;
    StrAppend(&out, labels_[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    StrAppend(&out, extra_key, "=\"", extra_value, "\"");
  }
  out += '}';
  return out;
}

template <>
std::unique_ptr<CounterSeries> Family<CounterSeries>::MakeSeries() {
  return std::make_unique<CounterSeries>();
}
template <>
std::unique_ptr<GaugeSeries> Family<GaugeSeries>::MakeSeries() {
  return std::make_unique<GaugeSeries>();
}
template <>
std::unique_ptr<HistogramSeries> Family<HistogramSeries>::MakeSeries() {
  return std::make_unique<HistogramSeries>(&bounds);
}

template <>
void Family<CounterSeries>::Render(std::string* out) const {
  RenderHeader(out);
  absl::MutexLock lock(&mu_);
  for (const auto& [key, e] : series_) {
    StrAppend(out, name_, LabelText(e.values), " ", FormatValue(e.series->Value()), "\n");
  }
}

template <>
void Family<GaugeSeries>::Render(std::string* out) const {
  RenderHeader(out);
  absl::MutexLock lock(&mu_);
  for (const auto& [key, e] : series_) {
    StrAppend(out, name_, LabelText(e.values), " ", FormatValue(e.series->Value()), "\n");
  }
}

template <>
void Family<HistogramSeries>::Render(std::string* out) const {
  RenderHeader(out);
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> cumulative;
  for (const auto& [key, e] : series_) {
    double sum = 0;
    uint64_t count = 0;
    e.series->Snapshot(&cumulative, &sum, &count);
    for (size_t i = 0; i < bounds.size(); ++i) {
      StrAppend(out, name_, "_bucket", LabelText(e.values, "le", FormatValue(bounds[i])),
                      " ", cumulative[i], "\n");
    }
    StrAppend(out, name_, "_bucket", LabelText(e.values, "le", "+Inf"), " ", count, "\n");
    StrAppend(out, name_, "_sum", LabelText(e.values), " ", FormatValue(sum), "\n");
    StrAppend(out, name_, "_count", LabelText(e.values), " ", count, "\n");
  }
}

template <class F>
F& Registry::GetOrCreate(std::string_view name, std::string_view help, Type type,
                         std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    // Re-registering a name with another shape is a wiring bug caught at start-up.
    if (it->second->type() != type || it->second->labels() != labels) {
      std::fprintf(stderr, "metric %s registered twice with different shapes\n",
                   std::string(name).c_str());
      std::abort();
    }
    return static_cast<F&>(*it->second);
  }
  auto family = std::make_unique<F>(std::string(name), std::string(help), type, std::move(labels));
  F& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CounterFamily& Registry::Counter(std::string_view name, std::string_view help,
                                 std::vector<std::string> labels) {
  return GetOrCreate<CounterFamily>(name, help, Type::kCounter, std::move(labels));
}

GaugeFamily& Registry::Gauge(std::string_view name, std::string_view help,
                             std::vector<std::string> labels) {
  return GetOrCreate<GaugeFamily>(name, help, Type::kGauge, std::move(labels));
}

HistogramFamily& Registry::Histogram(std::string_view name, std::string_view help,
                                     std::vector<std::string> labels, std::vector<double> bounds) {
  auto& family = GetOrCreate<HistogramFamily>(name, help, Type::kHistogram, std::move(labels));
  std::sort(bounds.begin(), bounds.end());
  absl::MutexLock lock(&mu_);
  if (family.bounds.empty()) family.bounds = std::move(bounds);
  return family;
}

void Registry::OnCollect(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(fn));
}

std::string Registry::Render() const {
  std::vector<std::function<void()>> collectors;
  {
    absl::MutexLock lock(&mu_);
    collectors = collectors_;
  }
  for (auto& fn : collectors) fn();
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

std::vector<double> Registry::LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

}  // namespace basalt::metrics
