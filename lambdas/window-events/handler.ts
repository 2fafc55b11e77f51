import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { loadWindowEventsConfig, once } from "../lib/config.js";
import {
  METRICS_NAMESPACE,
  WINDOW_DIMENSION,
  WINDOW_METRIC,
  WINDOW_SERVICE_NAME,
} from "../lib/contract.js";
import { errorName } from "../lib/errors.js";
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
  return {
    store: new DynamoDbWindowStore(windowsTableClient(), config.tableName),
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
  const statuses = new Map<string, number>();
  for (const outcome of outcomes) {
    if (outcome.applied > 0)
      applied.set(outcome.kind, (applied.get(outcome.kind) ?? 0) + outcome.applied);
    if (outcome.rejected > 0) {
      rejected.set(outcome.kind, (rejected.get(outcome.kind) ?? 0) + outcome.rejected);
    }
    for (const [code, count] of Object.entries(outcome.statuses)) {
      statuses.set(code, (statuses.get(code) ?? 0) + count);
    }
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
  for (const [code, count] of statuses) {
    emit(WINDOW_METRIC.statusesReceived, count, {
      [WINDOW_DIMENSION.kind]: "status",
      [WINDOW_DIMENSION.statusCode]: code,
    });
  }
}

export const processWindowEvents = handleWindowEvents(wiring);

// Every figure goes out through singleMetric(), which writes its EMF line at once; so no
// logMetrics flush (it would only warn about an empty set on every invocation).
export const handler = middy(processWindowEvents).use(injectLambdaContext(logger));
