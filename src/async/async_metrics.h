// The async pattern's Prometheus metrics, registered once per process.
#pragma once

#include "core/metrics.h"

namespace basalt::async {

struct AsyncMetrics {
  explicit AsyncMetrics(metrics::Registry& r)
      : submitted(r.Counter("basalt_async_submitted_total",
                            "Async invocations accepted (durable), by kind",
                            {"kind"})),
        finished(r.Counter("basalt_async_finished_total",
                           "Async job attempts that ended, by queue and outcome",
                           {"queue", "outcome"})),
        time_in_queue(r.Histogram("basalt_async_time_in_queue_seconds",
                                  "Time from submission to the first lease", {"queue"},
                                  metrics::Registry::LatencyBuckets())),
        end_to_end(r.Histogram("basalt_async_end_to_end_seconds",
                               "Time from submission to a terminal state", {"queue", "outcome"},
                               metrics::Registry::LatencyBuckets())),
        webhooks(r.Counter("basalt_webhook_deliveries_total",
                           "Webhook delivery attempts by outcome "
                           "(delivered, retry, dead)",
                           {"outcome"})),
        dispatched(r.Counter("basalt_bus_events_dispatched_total",
                             "Events read from the log and matched against rules")),
        depth(r.Gauge("basalt_queue_depth", "Jobs by queue and state (ready, delayed, leased, dead)",
                      {"queue", "state"})),
        oldest(r.Gauge("basalt_queue_oldest_ready_age_seconds",
                       "Age of the oldest ready job, by queue", {"queue"})) {}

  metrics::CounterFamily& submitted;
  metrics::CounterFamily& finished;
  metrics::HistogramFamily& time_in_queue;
  metrics::HistogramFamily& end_to_end;
  metrics::CounterFamily& webhooks;
  metrics::CounterFamily& dispatched;
  metrics::GaugeFamily& depth;
  metrics::GaugeFamily& oldest;
};

}  // namespace basalt::async
