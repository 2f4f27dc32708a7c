#include "core/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace basalt::metrics {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, CounterWithLabelsRenders) {
  Registry r;
  auto& c = r.Counter("basalt_test_total", "Things counted", {"route", "status"});
  c.With({"/a", "200"}).Inc();
  c.With({"/a", "200"}).Inc(2);
  c.With({"/b\"x", "500"}).Inc();
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# HELP basalt_test_total Things counted\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE basalt_test_total counter\n"));
  EXPECT_THAT(text, HasSubstr("basalt_test_total{route=\"/a\",status=\"200\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("basalt_test_total{route=\"/b\\\"x\",status=\"500\"} 1\n"));
}

TEST(Metrics, NegativeCounterIncrementsAreIgnored) {
  Registry r;
  auto& c = r.Counter("basalt_neg_total", "h").With({});
  c.Inc(-5);
  EXPECT_EQ(c.Value(), 0);
}

TEST(Metrics, GaugeSetAndAdd) {
  Registry r;
  auto& g = r.Gauge("basalt_gauge", "g").With({});
  g.Set(5);
  g.Add(-2);
  EXPECT_EQ(g.Value(), 3);
  EXPECT_THAT(r.Render(), HasSubstr("basalt_gauge 3\n"));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.Histogram("basalt_latency_seconds", "lat", {"route"}, {0.1, 1, 10});
  auto& s = h.With({"/x"});
  s.Observe(0.05);
  s.Observe(0.5);
  s.Observe(0.5);
  s.Observe(100);
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("basalt_latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("basalt_latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("basalt_latency_seconds_bucket{route=\"/x\",le=\"10\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("basalt_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("basalt_latency_seconds_count{route=\"/x\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("basalt_latency_seconds_sum{route=\"/x\"} 101.05\n"));
}

TEST(Metrics, SameNameReturnsSameFamily) {
  Registry r;
  auto& a = r.Counter("basalt_same_total", "h", {"l"});
  auto& b = r.Counter("basalt_same_total", "h", {"l"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.With({"x"}), &b.With({"x"}));
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& fam = r.Counter("basalt_conc_total", "h", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&fam] {
      for (int i = 0; i < 10000; ++i) fam.With({"x"}).Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fam.With({"x"}).Value(), 40000);
}

TEST(Metrics, OnCollectRunsBeforeRender) {
  Registry r;
  auto& g = r.Gauge("basalt_sampled", "s").With({});
  int calls = 0;
  r.OnCollect([&] { g.Set(++calls); });
  EXPECT_THAT(r.Render(), HasSubstr("basalt_sampled 1\n"));
  EXPECT_THAT(r.Render(), HasSubstr("basalt_sampled 2\n"));
}

TEST(Metrics, FormatValue) {
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
}

}  // namespace
}  // namespace basalt::metrics
