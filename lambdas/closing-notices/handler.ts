import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { systemClock } from "../lib/clock.js";
import { type ClosingNoticesConfig, loadClosingNoticesConfig, once } from "../lib/config.js";
import { CLOSING_NOTICES, METRICS_NAMESPACE } from "../lib/contract.js";
import {
  type SweepDeps,
  type SweepResult,
  sweepClosingNotices,
} from "../lib/intelligence/closing-notices.js";
import { emitMetricPoints } from "../lib/intelligence/emit-metrics.js";
import { eventBridgeWindowEvents } from "../lib/intelligence/eventbridge-window-events.js";
import { logger } from "../lib/logger.js";
import { windowsTableClient } from "../lib/windows/clients.js";
import { DynamoDbWindowStore } from "../lib/windows/dynamodb-window-store.js";

const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? CLOSING_NOTICES.serviceName,
});

export interface SweeperWiring {
  config: ClosingNoticesConfig;
  deps: Omit<SweepDeps, "remainingMs">;
}

// Module scope: the clients and the parsed settings live as long as the execution environment.
const wiring = once((): SweeperWiring => {
  const config = loadClosingNoticesConfig();
  const store = new DynamoDbWindowStore(windowsTableClient(), config.tableName);
  const bus = eventBridgeWindowEvents(new EventBridgeClient({}), config.eventBusName);
  return { config, deps: { store, bus, clock: systemClock } };
});

/**
 * EventBridge Scheduler's tick (its input is ignored): one sweep over every origin with a
 * `closingNoticeMinutes`, within the invocation's time less a margin. What a run leaves, the
 * next finds again (docs/contract.md, "Closing notices").
 */
export function handleSweep(wire: () => SweeperWiring) {
  return async (
    _event: unknown,
    context: Context,
  ): Promise<Omit<SweepResult, "events" | "metrics">> => {
    const { config, deps } = wire();
    const endsAt = Date.now() + context.getRemainingTimeInMillis() - CLOSING_NOTICES.budgetMarginMs;
    const result = await sweepClosingNotices(config.settings, {
      ...deps,
      remainingMs: () => endsAt - Date.now(),
    });
    emitMetricPoints(metrics, result.metrics);
    // Figures only: the events carry the users' numbers, the log does not.
    logger.info("Closing notices swept", { origins: result.origins });
    return { origins: result.origins };
  };
}

export const sweep = handleSweep(wiring);

// No logMetrics middleware: each point was published as its own single-metric document.
export const handler = middy(sweep).use(injectLambdaContext(logger));
