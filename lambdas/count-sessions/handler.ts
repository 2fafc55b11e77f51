import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { Deadline, systemClock } from "../lib/clock.js";
import {
  loadExportConfig,
  loadWavyConfig,
  loadWindowsTableName,
  once,
  type WavyConfig,
} from "../lib/config.js";
import { METRICS_NAMESPACE } from "../lib/contract.js";
import { ConfigurationError, InvalidRequestError } from "../lib/errors.js";
import { eventDetail } from "../lib/exports/events.js";
import { buildExportService, type ExportService } from "../lib/exports/export-service.js";
import { CounterEventSchema, describeIssues } from "../lib/ids.js";
import { logger } from "../lib/logger.js";
import {
  countOpenSessions,
  type NotConfiguredResult,
  type SessionCountResult,
} from "../lib/sessions/count.js";
import { type CredentialCache, createCredentialCache } from "../lib/wavy/credentials.js";
import { openSessionCsv } from "../lib/wavy/session-csv.js";
import { windowsTableClient } from "../lib/windows/clients.js";
import { DynamoDbWindowStore } from "../lib/windows/dynamodb-window-store.js";
import { emitOpenWindows } from "../lib/windows/open-windows-metrics.js";
import type { WindowStore } from "../lib/windows/window-store.js";

/** Time kept back from the Lambda timeout to log, flush metrics and fail cleanly. */
const SAFETY_MARGIN_MS = 3_000;

const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "wavy-sessions",
});

/** What a count needs besides its event: built once, on first use. */
export interface CounterWiring {
  config: WavyConfig;
  credentials: CredentialCache;
  /**
   * The export side, for a snapshot target only (EXPORT_BUCKET, events): built on the first
   * snapshot event, so a counter without snapshot targets needs no bucket.
   */
  exports?: () => ExportService;
  /**
   * The live windows' table, for an event with `origins` (docs/contract.md, "Live windows"):
   * undefined without WINDOWS_TABLE_NAME, and then no OpenWindows is counted.
   */
  windows?: () => WindowStore | undefined;
}

// Module scope: config parsed once and the secret cached across invocations of a warm function.
const wiring = once((): CounterWiring => {
  const config = loadWavyConfig();
  return {
    config,
    credentials: createCredentialCache(config.credentials),
    exports: once(() => buildExportService(loadExportConfig())),
    windows: once(() =>
      process.env.WINDOWS_TABLE_NAME
        ? new DynamoDbWindowStore(windowsTableClient(), loadWindowsTableName())
        : undefined,
    ),
  };
});

/**
 * EventBridge Scheduler's input: `{"customerId": "42", "subAccountId": "7", "snapshot": true}`.
 * Tests pass their own wiring (a Secrets Manager client of theirs), as they do for the export API.
 */
export function handleCount(wire: () => CounterWiring) {
  return async (
    event: unknown,
    context: Context,
  ): Promise<
    (SessionCountResult | NotConfiguredResult) & { openWindows?: Record<string, number> }
  > => {
    const parsed = CounterEventSchema.safeParse(event);
    if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
    const { snapshot, origins, ...target } = parsed.data;
    const { config, credentials, exports, windows } = wire();
    const snapshots = snapshot ? exports : undefined;
    if (snapshot && !snapshots) {
      throw new ConfigurationError("Invalid configuration: a snapshot needs the export side");
    }
    const budgetMs = Math.max(1, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
    const deadline = new Deadline(budgetMs);
    const sessions = await countOpenSessions(target, {
      openCsv: (target) => openSessionCsv(target, { config, credentials, deadline }),
      // docs/contract.md, "Scheduled snapshots": the same download counted and stored.
      ...(snapshots && {
        storeCsv: async (target, onTimestamp) =>
          eventDetail(await snapshots().snapshotExport(target, { onTimestamp, budgetMs })),
      }),
      clock: systemClock,
      timeZone: config.timeZone,
      metrics,
      logger,
    });
    const store = origins && windows?.();
    // Counted also while the Wavy secret is not configured: the webhooks need no credentials.
    if (!store || !origins) return sessions;
    const openWindows = await emitOpenWindows(origins, { store, nowMs: Date.now, metrics });
    return { ...sessions, openWindows };
  };
}

export const countSessions = handleCount(wiring);

export const handler = middy(countSessions)
  .use(injectLambdaContext(logger))
  // Flushed after success and failure alike; a failed read still reports WavyRequestFailed.
  .use(logMetrics(metrics, { throwOnEmptyMetrics: false }));
