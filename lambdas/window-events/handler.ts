import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { systemClock } from "../lib/clock.js";
import { loadWindowEventsConfig, once } from "../lib/config.js";
import {
  METRICS_NAMESPACE,
  WINDOW_DIMENSION,
  WINDOW_METRIC,
  WINDOW_SERVICE_NAME,
} from "../lib/contract.js";
import { errorName } from "../lib/errors.js";
import { emitMetricPoints } from "../lib/intelligence/emit-metrics.js";
import { eventBridgeWindowEvents } from "../lib/intelligence/eventbridge-window-events.js";
import type { MetricPoint } from "../lib/intelligence/ports.js";
import { processStatusMessage } from "../lib/intelligence/status-callbacks.js";
import { logger } from "../lib/logger.js";
import { windowsTableClient } from "../lib/windows/clients.js";
import { DynamoDbWindowStore } from "../lib/windows/dynamodb-window-store.js";
import { S3RejectedItemSink } from "../lib/windows/s3-rejected-sink.js";
import {
  applyWebhookMessage,
  type WebhookDeps,
  type WebhookOutcome,
} from "../lib/windows/webhook-message.js";

/**
 * The webhook queue's processor (docs/contract.md, "Live windows"): each SQS message is one
 * body Wavy sent; a message whose processing throws is reported in batchItemFailures, so only
 * it is delivered again (the event source has ReportBatchItemFailures). Invalid items are kept
 * and counted, and their message succeeds.
 */

const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? WINDOW_SERVICE_NAME.windowEvents,
});

export type WindowEventsWiring = Omit<WebhookDeps, "logger">;

const wiring = once((): WindowEventsWiring => {
  const config = loadWindowEventsConfig();
  const store = new DynamoDbWindowStore(windowsTableClient(), config.tableName);
  // Window intelligence reads the same table, and puts its events on the bus.
  const intelligence = {
    store,
    bus: eventBridgeWindowEvents(new EventBridgeClient({}), config.eventBusName),
    clock: systemClock,
    targets: config.targets,
  };
  return {
    store,
    statusCallbacks: (body) => processStatusMessage(body, intelligence),
    rejected: new S3RejectedItemSink(
      new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === "true" }),
      config.rejectedBucket,
    ),
    nowMs: Date.now,
    retentionDays: config.retentionDays,
  };
});

/** Tests and the local queue pass their own wiring and metrics. */
export function handleWindowEvents(
  wire: () => WindowEventsWiring,
  sink: Pick<Metrics, "singleMetric"> = metrics,
) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const deps = { ...wire(), logger };
    const outcomes = await Promise.allSettled(
      event.Records.map((record) =>
        applyWebhookMessage(
          {
            messageId: record.messageId,
            kind: record.messageAttributes?.kind?.stringValue,
            body: record.body,
          },
          deps,
        ),
      ),
    );
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    const done: WebhookOutcome[] = [];
    outcomes.forEach((outcome, index) => {
      const messageId = event.Records[index]?.messageId ?? "";
      if (outcome.status === "fulfilled") {
        done.push(outcome.value);
        return;
      }
      // Its name only: an SDK error's message can quote the request (and a number in it).
      logger.error("webhook message failed; the queue delivers it again", {
        messageId,
        error: errorName(outcome.reason),
      });
      batchItemFailures.push({ itemIdentifier: messageId });
    });
    emitFigures(done, sink);
    return { batchItemFailures };
  };
}

/** One data point per metric and dimension set per invocation, summed over its messages. */
function emitFigures(outcomes: readonly WebhookOutcome[], sink: Pick<Metrics, "singleMetric">) {
  const applied = new Map<string, number>();
  const rejected = new Map<string, number>();
  const points: MetricPoint[] = [];
  for (const outcome of outcomes) {
    if (outcome.applied > 0)
      applied.set(outcome.kind, (applied.get(outcome.kind) ?? 0) + outcome.applied);
    if (outcome.rejected > 0) {
      rejected.set(outcome.kind, (rejected.get(outcome.kind) ?? 0) + outcome.rejected);
    }
    points.push(...outcome.points);
  }
  const emit = (name: string, count: number, dimensions: Record<string, string>) => {
    const single = sink.singleMetric();
    single.addDimensions(dimensions);
    single.addMetric(name, MetricUnit.Count, count);
  };
  for (const [kind, count] of applied) {
    emit(WINDOW_METRIC.itemsApplied, count, { [WINDOW_DIMENSION.kind]: kind });
  }
  for (const [kind, count] of rejected) {
    emit(WINDOW_METRIC.itemsRejected, count, { [WINDOW_DIMENSION.kind]: kind });
  }
  // Window intelligence's figures (DeliveryOutcomes, SendsRejectedOutsideWindow), summed.
  emitMetricPoints(sink, points);
}

export const processWindowEvents = handleWindowEvents(wiring);

// Every figure goes out through singleMetric(), which writes its EMF line at once; so no
// logMetrics flush (it would only warn about an empty set on every invocation).
export const handler = middy(processWindowEvents).use(injectLambdaContext(logger));
