import { Metrics } from "@aws-lambda-powertools/metrics";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { type Clock, Deadline, systemClock } from "../clock.js";
import { type ExportConfig, once } from "../config.js";
import { EXPORT_TRIGGER, LIMITS } from "../contract.js";
import type { FieldVisitor, RowVisitor } from "../csv/scanner.js";
import { ConfigurationError, UpstreamTimeoutError } from "../errors.js";
import { copyToS3 } from "../exports/copy-to-s3.js";
import {
  type ExportDocument,
  newExportId,
  type RunningManifest,
  type SucceededDocument,
  targetOf,
} from "../exports/export-document.js";
import { exportSinks, type PendingClosing } from "../exports/export-sinks.js";
import { listExports, presign, readExport, toDocument } from "../exports/exports.js";
import type { HistoryQuery } from "../exports/history.js";
import { idempotentExport } from "../exports/idempotency.js";
import { type Copy, sweep } from "../exports/lifecycle.js";
import type { ExportContext } from "../exports/ports.js";
import { acceptExport, runAcceptedExport, runInline } from "../exports/runs.js";
import type { SessionTarget } from "../ids.js";
import { type CredentialCache, createCredentialCache } from "../wavy/credentials.js";
import type { BackoffPolicy } from "../wavy/retry.js";
import { openSessionCsv } from "../wavy/session-csv.js";
import { eventBridgeCompletionEvents, noCompletionEvents } from "./events.js";
import { withExportMetrics } from "./export-metrics.js";
import { s3ExportStore } from "./s3-store.js";
import { lambdaWorkerLauncher } from "./worker-launcher.js";

export interface CreateExportOptions {
  /** A retried POST /exports with the same key and body gets the same export back. */
  idempotencyKey?: string;
  /** Prefer: respond-async: answer at once with a running export, the worker copies. */
  respondAsync?: boolean;
  /** Called when the answer replays an earlier request's export (same Idempotency-Key). */
  onReplay?: () => void;
}

export interface ExportServiceDeps {
  /** Where the exports' own metrics go (EMF on stdout; namespace and service from the environment). */
  metrics?: Pick<Metrics, "singleMetric">;
  s3?: S3Client;
  credentials?: CredentialCache;
  clock?: Clock;
  backoff?: BackoffPolicy;
  eventBridge?: EventBridgeClient;
  lambda?: LambdaClient;
}

/** What a copy pass hands the scan besides the CSV: the counter's tally, the closing-soon list. */
interface Beside {
  onTimestamp?: FieldVisitor;
  /** Issue 21's reconciliation reading the same scan (CopyOptions.onRow). */
  onRow?: RowVisitor;
  closingWithinMinutes?: number;
}

/** What the API routes, the worker and the sweeper ask of the export domain. */
export type ExportService = ReturnType<typeof buildExportService>;

/**
 * Wires the export domain to S3, EventBridge, Lambda and Wavy; the handler keeps one for its
 * lifetime. Each entry point is one call into the domain under its own deadline.
 */
export function buildExportService(config: ExportConfig, deps: ExportServiceDeps = {}) {
  const s3 = deps.s3 ?? new S3Client({ forcePathStyle: config.s3ForcePathStyle });
  const bus = config.eventBusName;
  const events = bus
    ? eventBridgeCompletionEvents(deps.eventBridge ?? new EventBridgeClient({}), bus)
    : noCompletionEvents;
  const ctx: ExportContext = {
    store: s3ExportStore(s3, config.bucket),
    clock: deps.clock ?? systemClock,
    events: withExportMetrics(events, deps.metrics ?? new Metrics()),
    downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
  };
  const credentials = deps.credentials ?? createCredentialCache(config.credentials);
  const budget = () => new Deadline(config.requestBudgetMs);

  /** Steps 2–3 on S3: the CSV and what is written beside it, in one pass. */
  const copy =
    (beside: Beside = {}, out: { closing?: PendingClosing } = {}): Copy =>
    async (manifest, deadline) => {
      const { signal } = deadline;
      const { bucket, timeZone } = config;
      const target = targetOf(manifest);
      const csv = await openSessionCsv(target, {
        config,
        credentials,
        deadline,
        backoff: deps.backoff,
      });
      const { closingWithinMinutes, onTimestamp, onRow } = beside;
      const sinks = exportSinks(target, manifest.exportId, new Date(manifest.createdAt), {
        s3,
        bucket,
        signal,
        closingWithinMinutes,
      });
      const figures = await copyToS3(csv, {
        s3,
        bucket,
        key: manifest.key,
        signal,
        onTimestamp,
        onRow,
        rowSinks: sinks.sinks,
        timeZone,
      });
      out.closing = sinks.closing;
      // The companion is not among them: its own function builds it after the export.
      const committed = [manifest.key, ...(sinks.closing ? [sinks.closing.key] : [])];
      return { figures: { ...figures, sessionsKey: sinks.sessionsKey }, committed };
    };

  /** A request's or a snapshot's lifecycle inline, then its document, under one deadline. */
  const inline = async (
    target: SessionTarget,
    run: { budgetMs: number; trigger?: RunningManifest["trigger"]; exportId?: string },
    beside: Beside = {},
  ): Promise<SucceededDocument> => {
    const out: { closing?: PendingClosing } = {};
    const deadline = new Deadline(run.budgetMs);
    const manifest = await runInline(
      target,
      {
        exportId: run.exportId ?? newExportId(ctx.clock()),
        trigger: run.trigger ?? EXPORT_TRIGGER.request,
        runMs: run.budgetMs + LIMITS.cleanupGraceMs,
        deadline,
        copy: copy(beside, out),
      },
      ctx,
    );
    const document = (await toDocument(manifest, ctx, deadline.signal, true)) as SucceededDocument;
    if (!out.closing) return document;
    const { list, key, withinMinutes } = out.closing;
    const closing = { withinMinutes, count: list.count(), key, ...(await presign(key, ctx)) };
    return { ...document, closing };
  };

  // Checked before anything is stored: without a worker there is no asynchronous export.
  const workerLauncher = once(() => {
    if (config.workerFunctionName === undefined) {
      throw new ConfigurationError(
        "Invalid configuration: EXPORT_WORKER_FUNCTION_NAME is required for Prefer: respond-async",
      );
    }
    return lambdaWorkerLauncher(deps.lambda ?? new LambdaClient({}), config.workerFunctionName);
  });

  return {
    createExport: async (
      target: SessionTarget,
      options: CreateExportOptions = {},
    ): Promise<ExportDocument> => {
      const deadline = budget();
      const launchWorker = options.respondAsync ? workerLauncher() : undefined;
      // An accepted export's deadlineAt is the worker's timeout from now.
      const runMs = config.workerTimeoutSeconds * 1000;
      const run = (exportId = newExportId(ctx.clock())): Promise<ExportDocument> =>
        launchWorker
          ? acceptExport(target, { exportId, launchWorker, runMs, deadline }, ctx)
          : inline(target, { exportId, budgetMs: config.requestBudgetMs }).catch(withAsyncHint);
      if (options.idempotencyKey === undefined) return run();
      const respondAsync = launchWorker !== undefined;
      const key = options.idempotencyKey;
      return idempotentExport(
        key,
        target,
        respondAsync,
        { ...ctx, deadline },
        run,
        options.onReplay,
      );
    },
    readExport: (exportId: string) => readExport(exportId, ctx, budget().signal),
    /** An export as createExport makes it, plus the list of destinations closing soon. */
    closingSessions: (target: SessionTarget, withinMinutes: number) =>
      inline(target, { budgetMs: config.requestBudgetMs }, { closingWithinMinutes: withinMinutes }),
    listExports: (query: HistoryQuery) => listExports(query, ctx, budget().signal),
    /**
     * A scheduled snapshot (docs/contract.md, "Scheduled snapshots"): the lifecycle started by the
     * counter, whose scan also hands each row's timestamp to the counter's tally.
     */
    snapshotExport: (
      target: SessionTarget,
      { budgetMs, ...beside }: Beside & { onTimestamp: FieldVisitor; budgetMs: number },
    ) => inline(target, { budgetMs, trigger: EXPORT_TRIGGER.schedule }, beside),
    /** The worker's job: run an accepted export within what its invocation has left. */
    runAcceptedExport: (exportId: string, remainingMs: number) =>
      runAcceptedExport(exportId, { remainingMs, copy: copy() }, ctx),
    /** The sweeper's job: settle the running exports past their deadlineAt, within remainingMs. */
    sweep: (remainingMs: number) => sweep(ctx, AbortSignal.timeout(Math.max(1, remainingMs))),
  };
}

/**
 * A synchronous export that timed out says how to get one with a worker's 15 minutes: the budget
 * ran out, or Wavy kept answering 504 within it (a worker has longer to retry).
 */
function withAsyncHint(error: unknown): never {
  if (!(error instanceof UpstreamTimeoutError)) throw error;
  throw new UpstreamTimeoutError(
    `${error.message}; retry with the header "Prefer: respond-async" to run the export in the background`,
    { cause: error },
  );
}
