import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { Deadline, systemClock } from "../lib/clock.js";
import {
  loadExportConfig,
  loadWavyConfig,
  loadWindowRetentionDays,
  loadWindowsTableName,
  once,
  type WavyConfig,
} from "../lib/config.js";
import { METRICS_NAMESPACE } from "../lib/contract.js";
import { ConfigurationError, errorName, InvalidRequestError } from "../lib/errors.js";
import { eventDetail } from "../lib/exports-aws/events.js";
import { buildExportService, type ExportService } from "../lib/exports-aws/export-service.js";
import { CounterEventSchema, describeIssues, type SessionTarget } from "../lib/ids.js";
import { emitMetricPoints } from "../lib/intelligence/emit-metrics.js";
import { type ReconcileResult, SnapshotReconciler } from "../lib/intelligence/reconcile.js";
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
import { maskNumber } from "../lib/windows/mask.js";
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
  /**
   * Issue 21: the same table, for the snapshot reconciliation of an event with `origins`
   * (docs/contract.md, "Snapshots reconciled").
   */
  reconciliation?: () =>
    | { store: Pick<WindowStore, "closingWindows" | "advance">; retentionDays: number }
    | undefined;
}

// Module scope: config parsed once and the secret cached across invocations of a warm function.
const wiring = once((): CounterWiring => {
  const config = loadWavyConfig();
  const windows = once(() =>
    process.env.WINDOWS_TABLE_NAME
      ? new DynamoDbWindowStore(windowsTableClient(), loadWindowsTableName())
      : undefined,
  );
  return {
    config,
    credentials: createCredentialCache(config.credentials),
    exports: once(() => buildExportService(loadExportConfig())),
    windows,
    reconciliation: once(() => {
      const store = windows();
      return store && { store, retentionDays: loadWindowRetentionDays() };
    }),
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
    (SessionCountResult | NotConfiguredResult) & {
      openWindows?: Record<string, number>;
      reconciliation?: ReconciliationSummary;
    }
  > => {
    const parsed = CounterEventSchema.safeParse(event);
    if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
    const { snapshot, origins, ...target } = parsed.data;
    const { config, credentials, exports, windows, reconciliation } = wire();
    const snapshots = snapshot ? exports : undefined;
    if (snapshot && !snapshots) {
      throw new ConfigurationError("Invalid configuration: a snapshot needs the export side");
    }
    const budgetMs = Math.max(1, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
    const deadline = new Deadline(budgetMs);
    // One clock reading: the count's measuredAt is the reconciliation's too.
    const measuredAt = systemClock();
    const reconciler =
      origins && origins.length > 0
        ? await startReconciler(target, origins, measuredAt, config.timeZone, reconciliation?.())
        : undefined;
    const sessions = await countOpenSessions(target, {
      openCsv: (target) => openSessionCsv(target, { config, credentials, deadline }),
      // docs/contract.md, "Scheduled snapshots": the same download counted and stored.
      ...(snapshots && {
        storeCsv: async (target, onTimestamp, onRow) =>
          eventDetail(await snapshots().snapshotExport(target, { onTimestamp, onRow, budgetMs })),
      }),
      onRow: reconciler?.onRow,
      clock: () => measuredAt,
      timeZone: config.timeZone,
      metrics,
      logger,
    });
    // Nothing was read while Wavy is not configured: no drift to speak of.
    const reconciled =
      reconciler && !("notConfigured" in sessions)
        ? await finishReconciler(target, reconciler)
        : undefined;
    const store = origins && windows?.();
    // Counted also while the Wavy secret is not configured: the webhooks need no credentials.
    if (!store || !origins)
      return { ...sessions, ...(reconciled && { reconciliation: reconciled }) };
    const openWindows = await emitOpenWindows(origins, { store, nowMs: Date.now, metrics });
    return { ...sessions, openWindows, ...(reconciled && { reconciliation: reconciled }) };
  };
}

/** What a run's reconciliation found: the figures of its log line (no phone number). */
export interface ReconciliationSummary {
  rows: number;
  drift: ReconcileResult["drift"];
  ambiguous: number;
  zone: Pick<
    ReconcileResult["zone"],
    "decided" | "offsetMinutes" | "expectedOffsetMinutes" | "mismatch" | "pairs"
  >;
}

/**
 * The open windows loaded before the scan (docs/contract.md, "Snapshots reconciled"). The table
 * failing never stops the count: the run is counted without reconciliation, and says so.
 */
async function startReconciler(
  target: SessionTarget,
  origins: readonly string[],
  measuredAt: Date,
  timeZone: string,
  table: ReturnType<NonNullable<CounterWiring["reconciliation"]>>,
): Promise<SnapshotReconciler | undefined> {
  if (!table) return undefined;
  const reconciler = new SnapshotReconciler(
    { target: { ...target, subAccountId: target.subAccountId ?? null }, origins, measuredAt },
    { store: table.store, clock: systemClock, timeZone, retentionDays: table.retentionDays },
  );
  try {
    await reconciler.begin();
    return reconciler;
  } catch (error) {
    logger.error("Snapshot reconciliation skipped: the windows table could not be read", {
      customerId: target.customerId,
      errorName: errorName(error),
    });
    return undefined;
  }
}

async function finishReconciler(
  target: SessionTarget,
  reconciler: SnapshotReconciler,
): Promise<ReconciliationSummary | undefined> {
  try {
    const result = await reconciler.finish();
    emitMetricPoints(metrics, result.metrics);
    const { decided, offsetMinutes, expectedOffsetMinutes, mismatch, pairs } = result.zone;
    const summary: ReconciliationSummary = {
      rows: result.rows,
      drift: result.drift,
      ambiguous: result.ambiguous,
      zone: { decided, offsetMinutes, expectedOffsetMinutes, mismatch, pairs },
    };
    // docs/contract.md, "Measuring the CSV's zone": the figures, origins masked like any number.
    logger.info("Snapshot reconciled; CSV zone measured", {
      customerId: target.customerId,
      subAccountId: target.subAccountId,
      rows: result.rows,
      ambiguous: result.ambiguous,
      notWritable: result.notWritable,
      drift: result.drift.map((drift) => ({ ...drift, origin: maskNumber(drift.origin) })),
      zone: { ...summary.zone, outliers: result.zone.outliers },
    });
    return summary;
  } catch (error) {
    // The windows already written stay (each write moves a window forward only).
    logger.error("Snapshot reconciliation failed", {
      customerId: target.customerId,
      errorName: errorName(error),
    });
    return undefined;
  }
}

export const countSessions = handleCount(wiring);

export const handler = middy(countSessions)
  .use(injectLambdaContext(logger))
  // Flushed after success and failure alike; a failed read still reports WavyRequestFailed.
  .use(logMetrics(metrics, { throwOnEmptyMetrics: false }));
