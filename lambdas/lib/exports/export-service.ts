import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { type Clock, Deadline, systemClock } from "../clock.js";
import type { ExportConfig } from "../config.js";
import { EXPORT_TRIGGER } from "../contract.js";
import type { FieldVisitor } from "../csv/scanner.js";
import { ConfigurationError, NotFoundError, UpstreamTimeoutError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { type CredentialCache, createCredentialCache } from "../wavy/credentials.js";
import type { BackoffPolicy } from "../wavy/retry.js";
import { openSessionCsv } from "../wavy/session-csv.js";
import { acceptExport, runAcceptedExport, type WorkerLauncher } from "./async-export.js";
import {
  type CompletionEvents,
  eventBridgeCompletionEvents,
  noCompletionEvents,
} from "./events.js";
import type { ExportDocument, ExportManifest, SucceededDocument } from "./export-document.js";
import { createExport, type ExportBucket, readExport } from "./exports.js";
import { type HistoryQuery, listHistory } from "./history.js";
import { idempotentExport } from "./idempotency.js";
import { lambdaWorkerLauncher } from "./worker-launcher.js";

/** What the API routes and the worker ask of the export domain; each handler builds one, lazily. */
export interface ExportService {
  createExport(target: SessionTarget, options?: CreateExportOptions): Promise<ExportDocument>;
  readExport(exportId: string): Promise<ExportDocument>;
  /** An export as createExport makes it, plus the list of destinations closing soon. */
  closingSessions(target: SessionTarget, withinMinutes: number): Promise<ExportDocument>;
  listExports(
    query: HistoryQuery,
  ): Promise<{ exports: ExportDocument[]; nextCursor: string | null }>;
  /**
   * A scheduled snapshot (docs/contract.md, "Scheduled snapshots"): a synchronous export made by
   * the counter, whose scan also hands each row's timestamp to the counter's tally.
   */
  snapshotExport(
    target: SessionTarget,
    options: { onTimestamp: FieldVisitor; budgetMs: number },
  ): Promise<SucceededDocument>;
  /** The worker's job: run an accepted export within what its invocation has left. */
  runAcceptedExport(exportId: string, remainingMs: number): Promise<ExportManifest | undefined>;
}

export interface CreateExportOptions {
  /** A retried POST /exports with the same key and body gets the same export back. */
  idempotencyKey?: string;
  /** Prefer: respond-async: answer at once with a running export, the worker copies. */
  respondAsync?: boolean;
}

export interface ExportServiceDeps {
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
  const credentials = deps.credentials ?? createCredentialCache(config.credentials);
  const events: CompletionEvents =
    config.eventBusName === undefined
      ? noCompletionEvents
      : eventBridgeCompletionEvents(
          deps.eventBridge ?? new EventBridgeClient({}),
          config.eventBusName,
        );
  const store: ExportBucket = {
    s3,
    bucket: config.bucket,
    downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
    clock: deps.clock ?? systemClock,
    events,
  };
  const openCsv = (target: SessionTarget, deadline: Deadline) =>
    openSessionCsv(target, { config, credentials, deadline, backoff: deps.backoff });
  // Wavy's offset-less timestamps, read in this zone for the companion's UTC columns.
  const timeZone = config.timeZone;
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
      const run = (exportId?: string) => {
        const newId = exportId !== undefined ? { newExportId: () => exportId } : {};
        if (launchWorker) {
          return acceptExport(target, {
            ...store,
            ...newId,
            launchWorker,
            workerTimeoutMs: config.workerTimeoutSeconds * 1000,
            signal: deadline.signal,
          });
        }
        return createExport(target, { ...store, ...newId, deadline, openCsv, timeZone }).catch(
          (error: unknown) => {
            throw withAsyncHint(error);
          },
        );
      };
      return options.idempotencyKey === undefined
        ? run()
        : idempotentExport(options.idempotencyKey, target, { ...store, deadline }, run);
    },
    closingSessions: (target, withinMinutes) =>
      createExport(target, {
        ...store,
        deadline: new Deadline(config.requestBudgetMs),
        openCsv,
        timeZone,
        closingWithinMinutes: withinMinutes,
      }),
    readExport: (exportId) =>
      readExport(exportId, store, new Deadline(config.requestBudgetMs).signal),
    listExports: async (query) => {
      const { signal } = new Deadline(config.requestBudgetMs);
      const page = await listHistory(query, store, signal);
      const documents: (ExportDocument | undefined)[] = new Array(page.exportIds.length);
      let next = 0;
      const readNext = async () => {
        for (let index = next++; index < page.exportIds.length; index = next++) {
          // An entry without a manifest (a crash between the two writes), or a succeeded one
          // whose CSV is not committed yet (a synchronous export still finishing): not an
          // export (yet), so not listed.
          documents[index] = await readExport(page.exportIds[index] ?? "", store, signal).catch(
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
    snapshotExport: (target, { onTimestamp, budgetMs }) =>
      createExport(target, {
        ...store,
        deadline: new Deadline(budgetMs),
        openCsv,
        timeZone,
        trigger: EXPORT_TRIGGER.schedule,
        onTimestamp,
      }),
    runAcceptedExport: (exportId, remainingMs) =>
      runAcceptedExport(exportId, { ...store, openCsv, timeZone, remainingMs }),
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
