import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { WINDOW_DIMENSION, WINDOW_METRIC } from "../contract.js";
import { countOpenWindows } from "./open-windows.js";
import type { WindowStore } from "./window-store.js";

/**
 * OpenWindows as the counter emits it (docs/contract.md, "Metrics"): one data point per business
 * number with the dimension `Origin` (a business number, not personal data), and the sum with
 * the target's dimensions, which the counter has already set, beside OpenSessions.
 */
export async function emitOpenWindows(
  origins: readonly string[],
  deps: {
    store: WindowStore;
    nowMs: () => number;
    metrics: Pick<Metrics, "addMetric" | "singleMetric">;
  },
): Promise<Record<string, number>> {
  const counted = await countOpenWindows(origins, deps);
  for (const [origin, count] of Object.entries(counted.byOrigin)) {
    const single = deps.metrics.singleMetric();
    single.addDimension(WINDOW_DIMENSION.origin, origin);
    single.addMetric(WINDOW_METRIC.openWindows, MetricUnit.Count, count);
  }
  deps.metrics.addMetric(WINDOW_METRIC.openWindows, MetricUnit.Count, counted.total);
  return counted.byOrigin;
}
