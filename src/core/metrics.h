// Metrics registry: counters, gauges and histograms with labels, rendered in the
// Prometheus text exposition format (version 0.0.4) at GET /metrics.
//
//   auto& requests = registry.Counter("basalt_http_requests_total", "HTTP requests",
//                                      {"route", "status"});
//   requests.With({"/healthz", "200"}).Inc();
//
// Families are created once (same name again returns the same family; a name
// reused with another type or label set is a programming error and aborts at
// start-up). A series handle returned by With() stays valid for the registry's
// lifetime, so hot paths look it up once and keep the reference. Updating a
// series is lock-free; With() takes a short lock. Thread-safe throughout.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace basalt::metrics {

class CounterSeries {
 public:
  void Inc(double by = 1.0);
  double Value() const;

 private:
  std::atomic<double> value_{0};
};

class GaugeSeries {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double by);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class HistogramSeries {
 public:
  explicit HistogramSeries(const std::vector<double>* bounds);
  void Observe(double v);
  // Cumulative counts per bound (plus +Inf last), sum and count, for rendering.
  void Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;

 private:
  const std::vector<double>* bounds_;  // owned by the family; immutable
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

enum class Type { kCounter, kGauge, kHistogram };

template <class Series>
class Family;

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {}
  virtual ~FamilyBase() = default;
  virtual void Render(std::string* out) const = 0;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& labels() const { return labels_; }

 protected:
  void RenderHeader(std::string* out) const;
  // `{a="x",b="y"}` for the given label values, with an optional extra label.
  std::string LabelText(const std::vector<std::string>& values, std::string_view extra_key = {},
                        std::string_view extra_value = {}) const;

  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> labels_;
};

template <class Series>
class Family final : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  std::vector<double> bounds;  // histograms only; fixed before the first With()

  // The series for these label values (as many as the family's labels; missing
  // values are empty, extras are ignored).
  Series& With(std::initializer_list<std::string_view> values) {
    std::string key;
    for (std::string_view v : values) {
      key.append(v);
      key.push_back('\xff');
    }
    absl::MutexLock lock(&mu_);
    auto it = series_.find(key);
    if (it != series_.end()) return *it->second.series;
    Entry entry;
    for (std::string_view v : values) entry.values.emplace_back(v);
    entry.values.resize(labels_.size());
    entry.series = MakeSeries();
    Series& ref = *entry.series;
    series_.emplace(std::move(key), std::move(entry));
    return ref;
  }
  void Render(std::string* out) const override;

 private:
  struct Entry {
    std::vector<std::string> values;
    std::unique_ptr<Series> series;
  };
  std::unique_ptr<Series> MakeSeries();

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> series_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<CounterSeries>;
using GaugeFamily = Family<GaugeSeries>;
using HistogramFamily = Family<HistogramSeries>;

class Registry {
 public:
  CounterFamily& Counter(std::string_view name, std::string_view help,
                         std::vector<std::string> labels = {});
  GaugeFamily& Gauge(std::string_view name, std::string_view help,
                     std::vector<std::string> labels = {});
  HistogramFamily& Histogram(std::string_view name, std::string_view help,
                             std::vector<std::string> labels, std::vector<double> bounds);

  // Called just before rendering, to refresh gauges that are sampled.
  void OnCollect(std::function<void()> fn);

  // The whole registry in Prometheus text format, families sorted by name.
  std::string Render() const;

  // Default latency buckets in seconds, 100 µs .. 10 s.
  static std::vector<double> LatencyBuckets();

 private:
  template <class F>
  F& GetOrCreate(std::string_view name, std::string_view help, Type type,
                 std::vector<std::string> labels);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
};

// Escapes a label value per the exposition format (\\, \", \n).
std::string EscapeLabelValue(std::string_view v);
// Formats a sample value the way Prometheus parses it (+Inf, -Inf, NaN).
std::string FormatValue(double v);

}  // namespace basalt::metrics
