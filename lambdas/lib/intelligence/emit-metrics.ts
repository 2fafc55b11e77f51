import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { aggregate } from "./metric-points.js";
import type { MetricPoint } from "./ports.js";

/**
 * Emits the points through Powertools: one single-metric EMF document per distinct dimension set
 * (a Metrics instance holds one dimension set; these metrics each have their own), with the
 * instance's default dimensions (`service`).
 */
export function emitMetricPoints(
  metrics: Pick<Metrics, "singleMetric">,
  points: readonly MetricPoint[],
): void {
  for (const point of aggregate(points)) {
    const single = metrics.singleMetric();
    for (const [name, value] of Object.entries(point.dimensions)) single.addDimension(name, value);
    single.addMetric(
      point.name,
      point.unit === "Count" ? MetricUnit.Count : MetricUnit.NoUnit,
      point.value,
    );
  }
}
