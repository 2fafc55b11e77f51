import type { Readable } from "node:stream";
import { Deadline } from "../clock.js";
import { EXPORT_STATUS, EXPORT_TRIGGER, WORKER } from "../contract.js";
import { errorName, errorSummary, InternalError, UpstreamTimeoutError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import { copyToS3 } from "./copy-to-s3.js";
import {
  type ExportManifest,
  exportKey,
  type FailedManifest,
  manifestKey,
  newExportId,
  type RunningManifest,
  type SucceededManifest,
  targetOf,
} from "./export-document.js";
import { exportSinks } from "./export-sinks.js";
import { type ExportBucket, recordNewExport } from "./exports.js";
import { deleteHistoryEntry } from "./history.js";
import {
  deleteQuietly,
  readManifest,
  type StoredManifest,
  writeManifest,
} from "./manifest-store.js";

/** Starts the worker for an accepted export (an asynchronous Lambda invoke in production). */
export type WorkerLauncher = (exportId: string) => Promise<void>;

export interface AcceptExportDeps extends ExportBucket {
  launchWorker: WorkerLauncher;
  /** The worker's timeout: deadlineAt is createdAt plus this. */
  workerTimeoutMs: number;
  newExportId?: (createdAt: Date) => string;
  /** The request's deadline: the writes run under it. */
  signal: AbortSignal;
}

/**
 * `Prefer: respond-async`: records the export as running (manifest and history entry), starts its
 * worker and returns at once (docs/contract.md, "Asynchronous exports"). A worker that cannot be
 * started leaves nothing behind: the caller gets a 500, not a document.
 */
export async function acceptExport(
  target: SessionTarget,
  deps: AcceptExportDeps,
): Promise<RunningManifest> {
  const createdAt = deps.clock();
  const exportId = (deps.newExportId ?? newExportId)(createdAt);
  const manifest: RunningManifest = {
    exportId,
    trigger: EXPORT_TRIGGER.request,
    customerId: target.customerId,
    subAccountId: target.subAccountId,
    bucket: deps.bucket,
    key: exportKey(target, exportId, createdAt),
    createdAt: createdAt.toISOString(),
    status: EXPORT_STATUS.running,
    deadlineAt: new Date(createdAt.getTime() + deps.workerTimeoutMs).toISOString(),
  };
  await recordNewExport(manifest, deps, deps.signal);
  try {
    await deps.launchWorker(exportId);
  } catch (error) {
    logger.error("Could not start the export worker", { exportId, errorName: errorName(error) });
    await deleteQuietly(manifestKey(exportId), deps);
    await deleteHistoryEntry(manifest, deps);
    throw error instanceof InternalError
      ? error
      : new InternalError("Internal error", { cause: error });
  }
  logger.info("Export accepted", { exportId, deadlineAt: manifest.deadlineAt });
  return manifest;
}

export interface RunExportDeps extends ExportBucket {
  openCsv: (target: SessionTarget, deadline: Deadline) => Promise<Readable>;
  /** What the worker's own invocation has left (its Lambda context's remaining time). */
  remainingMs: number;
  /** IANA zone of Wavy's offset-less timestamps (WAVY_TIMEZONE), for the companion. */
  timeZone?: string;
}

/**
 * The worker: claims the accepted export, copies its CSV within the earlier of its deadlineAt and
 * its own timeout (less WORKER.safetyMarginMs, kept to record the end), then records how it ended
 * and announces it. Returns the manifest it recorded, or undefined when there was nothing to do
 * (no such export, or another delivery of the same event has it).
 */
export async function runAcceptedExport(
  exportId: string,
  deps: RunExportDeps,
): Promise<ExportManifest | undefined> {
  // The reads and the claim run within what the invocation has left; the copy gets its own deadline.
  const invocation = AbortSignal.timeout(Math.max(1, deps.remainingMs - WORKER.safetyMarginMs / 2));
  const stored = await readManifest(exportId, deps, invocation);
  if (!stored) {
    logger.warn("The worker was asked for an export that is not stored", { exportId });
    return undefined;
  }
  const { manifest } = stored;
  if (manifest.status !== EXPORT_STATUS.running || manifest.startedAt !== undefined) {
    // Lambda may deliver an asynchronous event more than once: the first delivery owns it.
    logger.info("The export is already taken", { exportId, status: manifest.status });
    return undefined;
  }
  const now = deps.clock();
  const budgetMs =
    Math.min(deps.remainingMs, Date.parse(manifest.deadlineAt) - now.getTime()) -
    WORKER.safetyMarginMs;
  if (budgetMs <= 0) {
    return finish(
      stored,
      invocation,
      failedOf(
        manifest,
        new UpstreamTimeoutError("The export's worker started too late to run it"),
        deps.clock(),
      ),
      deps,
    );
  }
  const claimed: RunningManifest = { ...manifest, startedAt: now.toISOString() };
  const claimEtag = await writeManifest(
    claimed,
    { kind: "replace", etag: stored.etag },
    deps,
    invocation,
  );
  if (claimEtag === undefined) {
    logger.info("Another delivery claimed the export first", { exportId });
    return undefined;
  }
  const mine: StoredManifest = { manifest: claimed, etag: claimEtag };

  const deadline = new Deadline(budgetMs);
  let ended: SucceededManifest | FailedManifest;
  try {
    const target = targetOf(manifest);
    const beside = exportSinks(target, exportId, new Date(manifest.createdAt), {
      s3: deps.s3,
      bucket: deps.bucket,
      signal: deadline.signal,
    });
    const csv = await deps.openCsv(target, deadline);
    const figures = await copyToS3(csv, {
      s3: deps.s3,
      bucket: deps.bucket,
      key: manifest.key,
      signal: deadline.signal,
      rowSinks: beside.sinks,
      timeZone: deps.timeZone,
    });
    ended = {
      ...withoutRunningFields(manifest),
      status: EXPORT_STATUS.succeeded,
      ...figures,
      sessionsKey: beside.sessionsKey,
      completedAt: deps.clock().toISOString(),
    };
  } catch (error) {
    ended = failedOf(manifest, error, deps.clock());
  }
  return finish(mine, invocation, ended, deps);
}

/**
 * Records the end with If-Match on the worker's own claim. Losing means an observer judged the
 * export overdue and recorded it failed first: the object this worker stored is then taken back.
 */
async function finish(
  mine: StoredManifest,
  signal: AbortSignal,
  ended: SucceededManifest | FailedManifest,
  store: ExportBucket,
): Promise<ExportManifest> {
  const won = await writeManifest(ended, { kind: "replace", etag: mine.etag }, store, signal);
  if (won === undefined) {
    logger.warn("The export was settled by another reader before the worker ended", {
      exportId: ended.exportId,
    });
    // Its companion was never built: that waits for the Export Succeeded this worker lost.
    if (ended.status === EXPORT_STATUS.succeeded) await deleteQuietly(ended.key, store);
    return (await readManifest(ended.exportId, store, signal))?.manifest ?? ended;
  }
  logger.info("Export ended", { exportId: ended.exportId, status: ended.status });
  await store.events.put(ended);
  return ended;
}

function withoutRunningFields(manifest: RunningManifest) {
  const { status: _status, deadlineAt: _deadline, startedAt: _started, ...rest } = manifest;
  return rest;
}

function failedOf(manifest: RunningManifest, error: unknown, now: Date): FailedManifest {
  return {
    ...withoutRunningFields(manifest),
    status: EXPORT_STATUS.failed,
    error: errorSummary(error),
    completedAt: now.toISOString(),
  };
}
