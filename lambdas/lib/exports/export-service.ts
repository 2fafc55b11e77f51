import type { Readable } from "node:stream";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { type Clock, Deadline, systemClock } from "../clock.js";
import type { ExportConfig } from "../config.js";
import { EXPORT_TRIGGER, LIMITS } from "../contract.js";
import type { FieldVisitor, RowVisitor } from "../csv/scanner.js";
import { ConfigurationError, NotFoundError, UpstreamTimeoutError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { type CredentialCache, createCredentialCache } from "../wavy/credentials.js";
import type { BackoffPolicy } from "../wavy/retry.js";
import { openSessionCsv } from "../wavy/session-csv.js";
import { acceptExport, runAcceptedExport } from "./async-export.js";
import { copyToS3 } from "./copy-to-s3.js";
import { eventBridgeCompletionEvents, noCompletionEvents } from "./events.js";
import {
  type ExportDocument,
  type ExportManifest,
  newExportId,
  type RunningManifest,
  type SucceededDocument,
  targetOf,
} from "./export-document.js";
import { withExportMetrics } from "./export-metrics.js";
import { exportSinks, type PendingClosing } from "./export-sinks.js";
import { presign, readExport, runInline, toDocument } from "./exports.js";
import { type HistoryQuery, listHistory } from "./history.js";
import { idempotentExport } from "./idempotency.js";
import type { Copied, RunSteps } from "./lifecycle.js";
import { s3ExportStore } from "./s3-store.js";
import { type SweepResult, sweep } from "./settle.js";
import type { ExportContext } from "./store.js";
import { lambdaWorkerLauncher, type WorkerLauncher } from "./worker-launcher.js";

/** What the API routes, the worker and the sweeper ask of the export domain. */
export interface ExportService {
  createExport(target: SessionTarget, options?: CreateExportOptions): Promise<ExportDocument>;
  readExport(exportId: string): Promise<ExportDocument>;
  /** An export as createExport makes it, plus the list of destinations closing soon. */
  closingSessions(target: SessionTarget, withinMinutes: number): Promise<ExportDocument>;
  listExports(
    query: HistoryQuery,
  ): Promise<{ exports: ExportDocument[]; nextCursor: string | null }>;
  /**
   * A scheduled snapshot (docs/contract.md, "Scheduled snapshots"): the lifecycle started by the
   * counter, whose scan also hands each row's timestamp to the counter's tally.
   */
  snapshotExport(
    target: SessionTarget,
    // onRow: issue 21's reconciliation reading the same scan (CopyOptions.onRow).
    options: { onTimestamp: FieldVisitor; onRow?: RowVisitor; budgetMs: number },
  ): Promise<SucceededDocument>;
  /** The worker's job: run an accepted export within what its invocation has left. */
  runAcceptedExport(exportId: string, remainingMs: number): Promise<ExportManifest | undefined>;
  /** The sweeper's job: settle the running exports past their deadlineAt, within remainingMs. */
  sweep(remainingMs: number): Promise<SweepResult>;
}

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

/** Manifests read at once for a history page: a page is at most 100, S3 takes far more. */
const HISTORY_READ_CONCURRENCY = 20;

/** Wires the export domain to its collaborators; the handler keeps one for its lifetime. */
export function buildExportService(
  config: ExportConfig,
  deps: ExportServiceDeps = {},
): ExportService {
  const s3 = deps.s3 ?? new S3Client({ forcePathStyle: config.s3ForcePathStyle });
  const ctx: ExportContext = {
    store: s3ExportStore(s3, config.bucket),
    clock: deps.clock ?? systemClock,
    events: withExportMetrics(
      config.eventBusName === undefined
        ? noCompletionEvents
        : eventBridgeCompletionEvents(
            deps.eventBridge ?? new EventBridgeClient({}),
            config.eventBusName,
          ),
      deps.metrics ?? new Metrics(),
    ),
    downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
  };
  const credentials = deps.credentials ?? createCredentialCache(config.credentials);
  const openCsv = (target: SessionTarget, deadline: Deadline) =>
    openSessionCsv(target, { config, credentials, deadline, backoff: deps.backoff });
  /** Steps 2–3 on S3: the CSV and what is written beside it, in one pass. */
  const steps = (
    beside: { onTimestamp?: FieldVisitor; onRow?: RowVisitor; closingWithinMinutes?: number } = {},
    out: { closing?: PendingClosing } = {},
  ): RunSteps => ({
    openCsv,
    copy: async (csv: Readable, manifest: RunningManifest, deadline: Deadline): Promise<Copied> => {
      const sinks = exportSinks(
        targetOf(manifest),
        manifest.exportId,
        new Date(manifest.createdAt),
        {
          s3,
          bucket: config.bucket,
          signal: deadline.signal,
          closingWithinMinutes: beside.closingWithinMinutes,
        },
      );
      const figures = await copyToS3(csv, {
        s3,
        bucket: config.bucket,
        key: manifest.key,
        signal: deadline.signal,
        onTimestamp: beside.onTimestamp,
        onRow: beside.onRow,
        rowSinks: sinks.sinks,
        timeZone: config.timeZone,
      });
      out.closing = sinks.closing;
      // The companion is not among them: its own function builds it after the export.
      const committed = [manifest.key];
      if (sinks.closing) committed.push(sinks.closing.key);
      return { figures: { ...figures, sessionsKey: sinks.sessionsKey }, committed };
    },
  });
  /** The synchronous path and the snapshot: the lifecycle inline, then the document. */
  const inline = async (
    target: SessionTarget,
    run: { exportId?: string; budgetMs: number; trigger?: "request" | "schedule" },
    beside: { onTimestamp?: FieldVisitor; onRow?: RowVisitor; closingWithinMinutes?: number } = {},
  ): Promise<SucceededDocument> => {
    const out: { closing?: PendingClosing } = {};
    // One deadline for the whole request: the document's step is inside it, not given a new one.
    const deadline = new Deadline(run.budgetMs);
    const manifest = await runInline(
      target,
      {
        exportId: run.exportId ?? newExportId(ctx.clock()),
        trigger: run.trigger ?? EXPORT_TRIGGER.request,
        runMs: run.budgetMs + LIMITS.cleanupGraceMs,
        deadline,
        steps: steps(beside, out),
      },
      ctx,
    );
    const document = (await toDocument(manifest, ctx, deadline.signal, true)) as SucceededDocument;
    const closing = out.closing;
    if (!closing) return document;
    return {
      ...document,
      closing: {
        withinMinutes: closing.withinMinutes,
        count: closing.list.count(),
        key: closing.key,
        ...(await presign(closing.key, ctx)),
      },
    };
  };
  let launcher: WorkerLauncher | undefined;
  // Checked before anything is stored: without a worker there is no asynchronous export.
  const workerLauncher = (): WorkerLauncher => {
    if (config.workerFunctionName === undefined) {
      throw new ConfigurationError(
        "Invalid configuration: EXPORT_WORKER_FUNCTION_NAME is required for Prefer: respond-async",
      );
    }
    launcher ??= lambdaWorkerLauncher(
      deps.lambda ?? new LambdaClient({}),
      config.workerFunctionName,
    );
    return launcher;
  };

  return {
    createExport: async (target, options = {}) => {
      const deadline = new Deadline(config.requestBudgetMs);
      const launchWorker = options.respondAsync ? workerLauncher() : undefined;
      const run = (exportId = newExportId(ctx.clock())): Promise<ExportDocument> => {
        if (launchWorker) {
          const workerTimeoutMs = config.workerTimeoutSeconds * 1000;
          return acceptExport(target, { exportId, launchWorker, workerTimeoutMs, deadline }, ctx);
        }
        return inline(target, { exportId, budgetMs: config.requestBudgetMs }).catch(
          (error: unknown) => {
            throw withAsyncHint(error);
          },
        );
      };
      if (options.idempotencyKey === undefined) return run();
      const respondAsync = launchWorker !== undefined;
      return idempotentExport(
        options.idempotencyKey,
        target,
        respondAsync,
        { ...ctx, deadline },
        run,
        options.onReplay,
      );
    },
    closingSessions: (target, withinMinutes) =>
      inline(target, { budgetMs: config.requestBudgetMs }, { closingWithinMinutes: withinMinutes }),
    readExport: (exportId) =>
      readExport(exportId, ctx, new Deadline(config.requestBudgetMs).signal),
    listExports: async (query) => {
      const { signal } = new Deadline(config.requestBudgetMs);
      const page = await listHistory(query, ctx.store, signal);
      const documents: (ExportDocument | undefined)[] = new Array(page.exportIds.length);
      let next = 0;
      const readNext = async () => {
        for (let index = next++; index < page.exportIds.length; index = next++) {
          // An entry without a manifest (a crash between the writes, or a failed synchronous
          // export being taken back) is not an export, so not listed.
          documents[index] = await readExport(page.exportIds[index] ?? "", ctx, signal).catch(
            (error: unknown) => {
              if (error instanceof NotFoundError) return undefined;
              throw error;
            },
          );
        }
      };
      await Promise.all(Array.from({ length: HISTORY_READ_CONCURRENCY }, readNext));
      return {
        exports: documents.filter((document) => document !== undefined),
        nextCursor: page.nextCursor,
      };
    },
    snapshotExport: (target, { onTimestamp, onRow, budgetMs }) =>
      inline(target, { budgetMs, trigger: EXPORT_TRIGGER.schedule }, { onTimestamp, onRow }),
    runAcceptedExport: (exportId, remainingMs) =>
      runAcceptedExport(exportId, { remainingMs, steps: steps() }, ctx),
    sweep: (remainingMs) => sweep(ctx, AbortSignal.timeout(Math.max(1, remainingMs))),
  };
}

/**
 * A synchronous export that timed out says how to get one with a worker's 15 minutes: the budget
 * ran out, or Wavy kept answering 504 within it (a worker has longer to retry).
 */
function withAsyncHint(error: unknown): unknown {
  if (!(error instanceof UpstreamTimeoutError)) return error;
  return new UpstreamTimeoutError(
    `${error.message}; retry with the header "Prefer: respond-async" to run the export in the background`,
    { cause: error },
  );
}
