import type { Metrics } from "@aws-lambda-powertools/metrics";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { EXPORT_DIMENSION, EXPORT_METRIC, EXPORT_STATUS } from "../contract.js";
import type { CompletionEvents } from "../exports/ports.js";

/**
 * The exports' own metrics (docs/contract.md, "Metrics"), as each export ends: every end is
 * announced through CompletionEvents exactly once (the lifecycle's finish, abandon and settle all
 * put it), so counting there counts each export once, whichever function ended it.
 *
 * singleMetric() writes each figure's EMF line as it is added: the API handler and the worker
 * need no flush middleware, and a figure is never lost to an invocation that ends in an error.
 */
export function withExportMetrics(
  events: CompletionEvents,
  metrics: Pick<Metrics, "singleMetric">,
): CompletionEvents {
  return {
    put: async (ended, signal) => {
      try {
        if (ended.status === EXPORT_STATUS.succeeded) {
          const figures = metrics.singleMetric();
          figures.addMetric(EXPORT_METRIC.succeeded, MetricUnit.Count, 1);
          const ms = Date.parse(ended.completedAt ?? "") - Date.parse(ended.createdAt);
          if (Number.isFinite(ms) && ms >= 0)
            figures.addMetric(EXPORT_METRIC.durationMs, MetricUnit.Milliseconds, ms);
          figures.addMetric(EXPORT_METRIC.bytes, MetricUnit.Bytes, ended.bytes);
          figures.addMetric(EXPORT_METRIC.rows, MetricUnit.Count, ended.rows);
        } else if (ended.status === EXPORT_STATUS.failed) {
          const total = metrics.singleMetric();
          total.addMetric(EXPORT_METRIC.failed, MetricUnit.Count, 1);
          const byCode = metrics.singleMetric();
          byCode.addDimension(EXPORT_DIMENSION.errorCode, ended.error.code);
          byCode.addMetric(EXPORT_METRIC.failedByCode, MetricUnit.Count, 1);
        }
      } catch {
        // A figure is never worth an export: the event still goes out.
      }
      await events.put(ended, signal);
    },
  };
}
